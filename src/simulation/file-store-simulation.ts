/**
 * The deterministic simulation of the Raft library, extended to the file store: every
 * simulated node applies the real namespace state machine (`MemoryMetadataStore`), and
 * clients with sessions create, chmod, unlink and stat files under every fault the simulator
 * has (drops, duplicates, delays, partitions, crashes that lose unsynced writes, leader
 * transfers). A client that hears nothing retries its mutation, with the same session and
 * sequence, on another node, as the SDK does. The history is checked for linearizability
 * against a model of a file's existence and mode, one path at a time.
 *
 * One seed replays one run: `npm run sim -- --files --seed N`.
 */

import { SandstoreError } from "../common/errors.ts";
import { type CommandResult, MetadataCommand } from "../gen/sandstore/v1/metadata.ts";
import { MemoryMetadataStore } from "../metadata/memory-metadata-store.ts";
import type { Entry } from "../raft/core/types.ts";
import { EntryType } from "../raft/core/types.ts";
import {
  checkLinearizable,
  type HistoryOperation,
  type Model,
  type State,
} from "../raft/testing/linearizability.ts";
import { type SimStateMachine, SimulationFailure, Simulator } from "../raft/testing/simulator.ts";

const PATHS = ["/a", "/b", "/c"];
const CLIENTS = 4;
/** Steps a client waits for an answer before it retries (a mutation) or gives up (a read). */
const PATIENCE = 40;

/**
 * The namespace as a simulated node's state machine. Snapshots are off in this simulation
 * (the Raft simulation and the snapshot property tests cover them), so a restarted node
 * replays its whole log into a fresh store.
 */
class NamespaceMachine implements SimStateMachine {
  private store = new MemoryMetadataStore();

  get applied(): number {
    return this.store.appliedIndex();
  }

  apply(entry: Entry): CommandResult | undefined {
    const command: MetadataCommand =
      entry.type === EntryType.Normal && entry.data.length > 0
        ? MetadataCommand.decode(entry.data)
        : { command: undefined };
    return this.store.apply([{ index: entry.index, command }])[0];
  }

  snapshot(): Uint8Array {
    if (this.applied !== 0) throw new Error("the file-store simulation takes no snapshots");
    return new Uint8Array(0);
  }

  restore(bytes: Uint8Array): void {
    if (bytes.length !== 0) throw new Error("the file-store simulation takes no snapshots");
    this.store = new MemoryMetadataStore();
  }

  /** The mode of the file at `path` as a string, or null when there is none. */
  mode(path: string): string | null {
    try {
      return String(this.store.stat(path).mode);
    } catch (error) {
      if (error instanceof SandstoreError && error.code === "ENOENT") return null;
      throw error;
    }
  }
}

/**
 * A file's existence and mode. A mutation's recorded result must be what it would do in the
 * state it is linearized in; one that never returned did whatever it does there.
 */
export const fileModel: Model = {
  step(state: State, op: HistoryOperation): State | undefined {
    const known = op.returned !== undefined;
    switch (op.kind) {
      case "create": // exclusive
        if (!known) return state ?? op.value;
        if (op.result === "ok") return state === null ? op.value : undefined;
        return op.result === "EEXIST" && state !== null ? state : undefined;
      case "unlink":
        if (!known) return null;
        if (op.result === "ok") return state !== null ? null : undefined;
        return op.result === "ENOENT" && state === null ? null : undefined;
      case "chmod":
        if (!known) return state === null ? null : op.value;
        if (op.result === "ok") return state !== null ? op.value : undefined;
        return op.result === "ENOENT" && state === null ? null : undefined;
      case "stat":
        return op.result === state ? state : undefined;
      default:
        return undefined;
    }
  },
  isRead: (op) => op.kind === "stat",
};

export interface FileStoreSimulationOptions {
  readonly seed: number;
  readonly steps: number;
  /** Without sessions a retried mutation can apply twice; for showing that the check sees it. */
  readonly sessions?: boolean;
}

export interface FileStoreSimulationStats {
  readonly seed: number;
  readonly operations: number;
  readonly returned: number;
  readonly retries: number;
  readonly crashes: number;
  readonly partitions: number;
}

interface Outstanding {
  readonly op: HistoryOperation;
  /** The command's bytes, identical on every attempt. */
  readonly bytes: Uint8Array | undefined;
  since: number;
}

export function runFileStoreSimulation(
  options: FileStoreSimulationOptions,
): FileStoreSimulationStats {
  const ids = ["n1", "n2", "n3"];
  const sim = new Simulator({
    ids,
    seed: options.seed,
    snapshotEvery: 0,
    maxInflight: 3,
    maxMessageBytes: 400,
    stateMachine: () => new NamespaceMachine(),
  });
  const r = sim.random;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
  sim.faults = { drop: 0.05, duplicate: 0.03, maxDelay: 3, crashDuringPersist: 0.002 };
  const history: HistoryOperation[] = [];
  const outstanding = new Map<number, Outstanding>();
  const sequences = new Array<number>(CLIENTS).fill(0);
  let clock = 0;
  let retries = 0;
  let crashes = 0;
  let partitions = 0;
  const fail = (what: string): never => {
    throw new SimulationFailure(
      `seed ${options.seed}: ${what} (replay: npm run sim -- --files --seed ${options.seed} --steps ${options.steps})`,
    );
  };

  const finish = (client: number, op: HistoryOperation, result: string | null) => {
    // Duplicate answers (a retry and its original both applied, once) count once.
    if (outstanding.get(client)?.op !== op) return;
    outstanding.delete(client);
    op.returned = clock++;
    op.result = result;
  };

  /**
   * Sends the operation to a node: mostly the one that leads (as a client following
   * NOT_LEADER hints ends up doing), sometimes any, deposed leaders included. A node that
   * refuses it at once (not the leader) is followed by another try soon.
   */
  const attempt = (client: number, pending: Outstanding) => {
    const up = ids.filter((id) => sim.isUp(id));
    if (up.length === 0) return;
    const leader = sim.leader();
    const node = leader !== undefined && r() < 0.7 ? leader : pick(up);
    pending.since = 0;
    const { op, bytes } = pending;
    const sent = bytes
      ? sim.proposeCommand(node, bytes, (result) => {
          const errno = (result as CommandResult | undefined)?.errno ?? "EIO";
          finish(client, op, errno === "" ? "ok" : errno);
        })
      : sim.readBarrier(node, () =>
          finish(client, op, (sim.stateMachine(node) as NamespaceMachine).mode(op.key)),
        );
    if (!sent) pending.since = PATIENCE - 3;
  };

  const start = (client: number, step: number) => {
    const kind = pick(["create", "create", "unlink", "chmod", "stat", "stat"]);
    const path = pick(PATHS);
    const mode = Math.floor(r() * 0o777);
    const sequence = ++sequences[client]!;
    const session =
      options.sessions === false
        ? undefined
        : { clientId: `client-${client}`, sequence, acknowledgedBelow: sequence };
    const nowMs = 1_000_000 + step;
    let command: MetadataCommand | undefined;
    if (kind === "create")
      command = {
        session,
        command: {
          $case: "create",
          value: { path, mode, uid: 0, gid: 0, exclusive: true, truncate: false, access: 0, nowMs },
        },
      };
    else if (kind === "unlink")
      command = { session, command: { $case: "unlink", value: { path, nowMs } } };
    else if (kind === "chmod")
      command = {
        session,
        command: { $case: "setAttr", value: { path, mode, nowMs, xattrs: [] } },
      };
    const op: HistoryOperation = {
      id: history.length + 1,
      key: path,
      kind,
      value: String(mode),
      call: clock++,
      returned: undefined,
      result: undefined,
    };
    history.push(op);
    const pending: Outstanding = {
      op,
      bytes: command && MetadataCommand.encode(command).finish(),
      since: 0,
    };
    outstanding.set(client, pending);
    attempt(client, pending);
  };

  try {
    for (let step = 0; step < options.steps; step++) {
      const roll = r();
      if (roll < 0.3) sim.tick();
      else if (roll < 0.6) sim.deliverSome();
      else if (roll < 0.9) {
        const client = Math.floor(r() * CLIENTS);
        if (!outstanding.has(client)) start(client, step);
      } else if (roll < 0.905) {
        const up = ids.filter((id) => sim.isUp(id));
        if (up.length > 1) {
          const node = pick(up);
          sim.crash(node);
          sim.forgetPending(node);
          crashes++;
        }
      } else if (roll < 0.92) {
        const down = ids.filter((id) => !sim.isUp(id));
        if (down.length > 0) sim.start(pick(down));
      } else if (roll < 0.925) {
        partitions++;
        sim.heal();
        const leader = sim.leader();
        if (leader && r() < 0.5) sim.isolate(leader);
        else sim.isolate(pick(ids));
      } else if (roll < 0.94) sim.heal();
      else if (roll < 0.95) {
        const leader = sim.leader();
        if (leader && sim.isUp(leader)) sim.raft(leader).transferLeadership(pick(ids));
      } else {
        sim.tick();
        sim.deliverSome();
      }
      for (const [client, pending] of outstanding) {
        if (++pending.since < PATIENCE) continue;
        if (pending.bytes) {
          retries++;
          attempt(client, pending);
        } else {
          outstanding.delete(client); // a read that never returned: it had no effect
        }
      }
      if (step % 200 === 0) sim.checkLogMatching();
    }
    // Heal, then every mutation still waiting is retried until it is answered.
    sim.faults = { drop: 0, duplicate: 0, maxDelay: 0, crashDuringPersist: 0 };
    sim.heal();
    for (const id of ids) if (!sim.isUp(id)) sim.start(id);
    const settled = sim.tickUntil(() => {
      for (const [client, pending] of outstanding) {
        if (++pending.since >= PATIENCE / 4) attempt(client, pending);
      }
      return [...outstanding.values()].every((p) => !p.bytes);
    }, 1000);
    if (!settled) fail("mutations still unanswered 1000 ticks after healing");
    sim.checkLogMatching();
  } catch (error) {
    if (error instanceof SimulationFailure && error.message.startsWith("seed ")) throw error;
    throw new SimulationFailure(
      `seed ${options.seed}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const verdict = checkLinearizable(history, 20_000, fileModel);
  if (verdict.ok === false) {
    if (process.env.SIM_DEBUG) console.log(JSON.stringify(verdict.operations));
    fail(`file history is not linearizable for ${verdict.key}`);
  }
  if (verdict.ok === "timeout") fail(`linearizability check timed out on ${verdict.key}`);
  return {
    seed: options.seed,
    operations: history.length,
    returned: history.filter((op) => op.returned !== undefined).length,
    retries,
    crashes,
    partitions,
  };
}
