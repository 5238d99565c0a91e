/**
 * A deterministic cluster simulator: N Raft cores on a simulated network and simulated disks,
 * in virtual time, driven by one seed. The same seed replays the same run exactly.
 *
 * Scenario tests drive it by hand (`tick`, `deliverAll`, `partition`, ...); `runSimulation`
 * drives it at random with every fault on and checks safety after every step.
 */
import { Raft, type RaftConfig } from "../core/raft.ts";
import { seededRandom } from "../core/random.ts";
import type { ConfState, Entry, Message, NodeId, SnapshotMeta } from "../core/types.ts";
import { EntryType } from "../core/types.ts";
import { MemoryStorage } from "../storage/memory-storage.ts";
import type { HistoryOperation } from "./linearizability.ts";

export { seededRandom };

/** A key-value command as the simulated clients propose it. */
export interface KvCommand {
  readonly op: "set" | "del";
  readonly key: string;
  readonly value: string;
  /** Unique per client operation, so an applied entry can be traced to its proposal. */
  readonly opId: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const encodeCommand = (c: KvCommand): Uint8Array => encoder.encode(JSON.stringify(c));
export const decodeCommand = (data: Uint8Array): KvCommand =>
  JSON.parse(decoder.decode(data)) as KvCommand;

/**
 * A state machine a simulated node runs. `apply` returns the entry's result, handed to whoever
 * proposed it through `proposeCommand`. Snapshots are whole byte arrays (small in simulation).
 */
export interface SimStateMachine {
  /** Index of the last applied entry. */
  readonly applied: number;
  apply(entry: Entry): unknown;
  snapshot(): Uint8Array;
  restore(bytes: Uint8Array): void;
}

/** The state machine each simulated node runs by default: a map, with the index it reflects. */
class KvStateMachine implements SimStateMachine {
  data = new Map<string, string>();
  applied = 0;

  apply(entry: Entry): void {
    this.applied = entry.index;
    if (entry.type !== EntryType.Normal || entry.data.length === 0) return;
    const c = decodeCommand(entry.data);
    if (c.op === "set") this.data.set(c.key, c.value);
    else this.data.delete(c.key);
  }

  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify({ applied: this.applied, data: [...this.data] }));
  }

  restore(bytes: Uint8Array): void {
    const parsed = JSON.parse(decoder.decode(bytes)) as {
      applied: number;
      data: Array<[string, string]>;
    };
    this.applied = parsed.applied;
    this.data = new Map(parsed.data);
  }
}

interface SimNode {
  readonly id: NodeId;
  raft: Raft | undefined;
  readonly storage: MemoryStorage;
  sm: SimStateMachine;
  /** Pieces of a snapshot being received, in order. */
  incoming: Uint8Array[];
  /** Entries applied since the last snapshot the node took. */
  sinceSnapshot: number;
}

/** A proposal or read a client is waiting on. */
interface PendingOp {
  readonly op: HistoryOperation;
  readonly node: NodeId;
  readonly index: number;
  readonly term: number;
  readonly context: string;
}

export interface SimulatorOptions {
  readonly ids: readonly NodeId[];
  readonly seed: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Take a snapshot after this many applied entries (0: never). */
  readonly snapshotEvery?: number;
  readonly maxSnapshotPieceBytes?: number;
  readonly maxInflight?: number;
  readonly maxMessageBytes?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Makes each node's state machine; default a key-value map (for `write` and `get`). */
  readonly stateMachine?: () => SimStateMachine;
}

/** A command proposed through `proposeCommand`, waiting to be applied on its node. */
interface PendingCommand {
  readonly node: NodeId;
  readonly index: number;
  readonly term: number;
  readonly done: (result: unknown) => void;
}

/** A read barrier started through `readBarrier`, waiting for its index to be applied. */
interface PendingBarrier {
  readonly node: NodeId;
  readonly context: string;
  index: number;
  readonly done: () => void;
}

/** A safety violation, with what is needed to replay it. */
export class SimulationFailure extends Error {
  override readonly name = "SimulationFailure";
}

interface InFlight {
  readonly message: Message;
  readonly deliverAt: number;
}

export class Simulator {
  readonly random: () => number;
  readonly nodes = new Map<NodeId, SimNode>();
  private network: InFlight[] = [];
  /** Pairs `from>to` that cannot deliver. */
  private readonly cut = new Set<string>();
  time = 0;
  /** Fault rates used by `deliverSome`; all zero for scenario tests. */
  faults = { drop: 0, duplicate: 0, maxDelay: 0, crashDuringPersist: 0 };

  // Safety bookkeeping.
  private readonly leaders = new Map<number, NodeId>();
  /**
   * The entry applied at each index, by any node (no two nodes may disagree), and an upper
   * bound on the term in which it was committed: the lowest current term of a node applying it.
   */
  private readonly appliedAt = new Map<
    number,
    { term: number; data: string; committedBy: number }
  >();
  private readonly pending: PendingOp[] = [];
  private readonly pendingCommands: PendingCommand[] = [];
  private readonly pendingBarriers: PendingBarrier[] = [];
  readonly history: HistoryOperation[] = [];
  private clock = 0;
  private nextOpId = 1;
  /** Acknowledged writes: index, term and op id, checked against every log at the end. */
  private readonly acknowledged: Array<{ index: number; term: number; opId: number }> = [];

  constructor(private readonly options: SimulatorOptions) {
    this.random = seededRandom(options.seed);
    const conf: ConfState = { voters: [...options.ids].sort(), learners: [] };
    for (const id of options.ids) this.addNode(id, conf);
  }

  /** Creates a node (not started for a learner-to-be; `start` it after adding it). */
  addNode(id: NodeId, conf: ConfState): void {
    const storage = new MemoryStorage({
      hardState: { term: 0, vote: "", commit: 0 },
      snapshot: { index: 0, term: 0, conf, size: 0 },
      snapshotData: this.newStateMachine().snapshot(),
      entries: [],
    });
    const node: SimNode = {
      id,
      raft: undefined,
      storage,
      sm: this.newStateMachine(),
      incoming: [],
      sinceSnapshot: 0,
    };
    this.nodes.set(id, node);
    this.start(id);
  }

  private newStateMachine(): SimStateMachine {
    return this.options.stateMachine?.() ?? new KvStateMachine();
  }

  private config(id: NodeId): RaftConfig {
    const o = this.options;
    return {
      id,
      electionTicks: o.electionTicks ?? 10,
      heartbeatTicks: o.heartbeatTicks ?? 1,
      random: this.random,
      preVote: o.preVote ?? true,
      checkQuorum: o.checkQuorum ?? true,
      maxInflight: o.maxInflight ?? 4,
      maxMessageBytes: o.maxMessageBytes ?? 256,
      maxSnapshotPieceBytes: o.maxSnapshotPieceBytes ?? 64,
    };
  }

  /** Boots a node from what its storage holds (a restart after a crash). */
  start(id: NodeId): void {
    const node = this.node(id);
    const state = node.storage.state();
    node.sm = this.newStateMachine();
    node.sm.restore(state.snapshotData);
    node.incoming = [];
    node.sinceSnapshot = 0;
    node.raft = new Raft(this.config(id), {
      hardState: state.hardState,
      snapshot: state.snapshot,
      entries: state.entries,
    });
  }

  /** Kills a node: unsynced writes are lost or torn, messages to it are dropped. */
  crash(id: NodeId): void {
    const node = this.node(id);
    node.storage.crash(this.random);
    node.raft = undefined;
    this.network = this.network.filter((f) => f.message.to !== id);
  }

  isUp(id: NodeId): boolean {
    return this.node(id).raft !== undefined;
  }

  raft(id: NodeId): Raft {
    const raft = this.node(id).raft;
    if (!raft) throw new Error(`node ${id} is down`);
    return raft;
  }

  node(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** The value of `key` in node `id`'s key-value state machine. */
  read(id: NodeId, key: string): string | undefined {
    return this.kv(this.node(id)).data.get(key);
  }

  private kv(node: SimNode): KvStateMachine {
    if (!(node.sm instanceof KvStateMachine))
      throw new Error("key-value reads need the default state machine");
    return node.sm;
  }

  appliedIndex(id: NodeId): number {
    return this.node(id).sm.applied;
  }

  // ---------------------------------------------------------------- the network

  /** Blocks delivery both ways between every node of `a` and every node of `b`. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cut.add(`${x}>${y}`);
        this.cut.add(`${y}>${x}`);
      }
    }
  }

  /** Blocks delivery from `from` to `to` only. */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  isolate(id: NodeId): void {
    this.partition(
      [id],
      [...this.nodes.keys()].filter((other) => other !== id),
    );
  }

  heal(): void {
    this.cut.clear();
  }

  private canDeliver(m: Message): boolean {
    return !this.cut.has(`${m.from}>${m.to}`) && this.isUp(m.to);
  }

  inFlightCount(): number {
    return this.network.length;
  }

  /** Advances virtual time one tick on every running node. */
  tick(): void {
    this.time++;
    for (const node of this.nodes.values()) node.raft?.tick();
    this.processAll();
  }

  /** Ticks until `condition` holds, at most `limit` ticks, delivering everything each tick. */
  tickUntil(condition: () => boolean, limit: number): boolean {
    for (let i = 0; i < limit; i++) {
      if (condition()) return true;
      this.tick();
      this.deliverAll();
    }
    return condition();
  }

  /** Delivers every deliverable message, and what they cause, until the network is quiet. */
  deliverAll(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.processAll();
      const batch = this.network;
      this.network = [];
      if (batch.length === 0) return;
      for (const { message } of batch) if (this.canDeliver(message)) this.deliver(message);
    }
    throw new SimulationFailure("the network did not go quiet");
  }

  /**
   * Delivers due messages one by one in random order, dropping, duplicating and delaying them
   * at the configured rates: the chaotic network of `runSimulation`.
   */
  deliverSome(): void {
    this.processAll();
    const due = this.network.filter((f) => f.deliverAt <= this.time);
    this.network = this.network.filter((f) => f.deliverAt > this.time);
    for (let i = due.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [due[i], due[j]] = [due[j]!, due[i]!];
    }
    for (const { message } of due) {
      if (!this.canDeliver(message) || this.random() < this.faults.drop) continue;
      this.deliver(message);
      if (this.random() < this.faults.duplicate) this.deliver(message);
    }
    this.processAll();
  }

  private deliver(message: Message): void {
    this.node(message.to).raft?.step(message);
    this.processNode(this.node(message.to));
  }

  // ---------------------------------------------------------------- Ready processing

  private processAll(): void {
    for (let rounds = 0; rounds < 100; rounds++) {
      let any = false;
      for (const node of this.nodes.values()) if (this.processNode(node)) any = true;
      if (!any) return;
    }
  }

  /** One turn of the Ready loop for one node. Returns whether there was work. */
  private processNode(node: SimNode): boolean {
    const raft = node.raft;
    if (!raft?.hasReady()) return false;
    const ready = raft.ready();
    // 1. Persist, with one sync.
    let snapshotData: Uint8Array | undefined;
    for (const piece of ready.snapshotPieces) {
      if (piece.offset === 0) node.incoming = [];
      node.incoming.push(piece.data);
      if (piece.done) {
        snapshotData = concat(node.incoming);
        node.incoming = [];
        node.storage.saveSnapshot(piece.meta, snapshotData);
      }
    }
    // Entries before the hard state: a commit index must never be durable ahead of its entries.
    node.storage.appendEntries(ready.entries);
    if (ready.hardState) node.storage.setHardState(ready.hardState);
    if (this.faults.crashDuringPersist > 0 && this.random() < this.faults.crashDuringPersist) {
      // Power cut before the fsync: nothing of this Ready was promised to anyone yet.
      this.crash(node.id);
      this.forgetPending(node.id);
      return true;
    }
    node.storage.sync();
    // 2. Send: snapshot pieces get their bytes from the sender's stored snapshot.
    const stored = node.storage.state();
    for (const m of ready.messages) {
      const message =
        m.type === "snapshot"
          ? { ...m, data: stored.snapshotData.subarray(m.offset, m.offset + m.length) }
          : m;
      if (m.type === "snapshot" && stored.snapshot.index !== m.meta.index) continue; // superseded
      const delay =
        this.faults.maxDelay > 0 ? Math.floor(this.random() * (this.faults.maxDelay + 1)) : 0;
      this.network.push({ message, deliverAt: this.time + delay });
    }
    // 3. Install a completed snapshot, then apply.
    if (ready.snapshot) {
      const data = snapshotData ?? node.storage.state().snapshotData;
      node.sm.restore(data);
      if (node.sm.applied !== ready.snapshot.index) {
        throw new SimulationFailure(
          `${node.id}: installed snapshot reflects ${node.sm.applied}, meta says ${ready.snapshot.index}`,
        );
      }
    }
    for (const entry of ready.committedEntries) {
      if (entry.index <= node.sm.applied) continue;
      if (entry.index !== node.sm.applied + 1) {
        throw new SimulationFailure(`${node.id}: applying ${entry.index} after ${node.sm.applied}`);
      }
      this.checkApplied(node.id, entry, raft.status().term);
      const result = node.sm.apply(entry);
      node.sinceSnapshot++;
      if (!this.options.stateMachine) this.completeWrites(node, entry);
      this.completeCommands(node, entry, result);
    }
    // 4. Reads that are now safe.
    for (const readState of ready.readStates) {
      this.completeRead(node, readState.context, readState.index);
      const barrier = this.pendingBarriers.find(
        (b) => b.node === node.id && b.context === readState.context,
      );
      if (barrier) barrier.index = readState.index;
    }
    raft.advance(ready);
    this.completeReadsWaitingForApply(node);
    this.completeBarriers(node);
    this.observeLeader(raft);
    this.maybeSnapshot(node);
    return true;
  }

  private maybeSnapshot(node: SimNode): void {
    const every = this.options.snapshotEvery ?? 0;
    if (every === 0 || node.sinceSnapshot < every || !node.raft) return;
    const data = node.sm.snapshot();
    const meta = node.raft.compact(node.sm.applied, data.length);
    node.storage.compact(meta, data);
    node.storage.sync();
    node.sinceSnapshot = 0;
  }

  // ---------------------------------------------------------------- safety

  private observeLeader(raft: Raft): void {
    const s = raft.status();
    if (s.role !== "leader") return;
    const known = this.leaders.get(s.term);
    if (known && known !== s.id) {
      throw new SimulationFailure(`two leaders in term ${s.term}: ${known} and ${s.id}`);
    }
    if (!known) {
      this.leaders.set(s.term, s.id);
      this.checkLeaderCompleteness(s.id);
    }
  }

  /**
   * A new leader's log holds every entry committed in an earlier term (or its snapshot covers
   * it). A leader of an older term can be elected late, after newer terms committed entries,
   * when its vote answers were delayed: those entries are not required of it.
   */
  private checkLeaderCompleteness(id: NodeId): void {
    const raft = this.raft(id);
    const { snapshotIndex, lastIndex, term } = raft.status();
    const entries = raft.entriesBetween(snapshotIndex + 1, lastIndex + 1);
    for (const [index, applied] of this.appliedAt) {
      if (index <= snapshotIndex || applied.committedBy >= term) continue;
      const entry = entries[index - snapshotIndex - 1];
      if (!entry || entry.term !== applied.term || decoder.decode(entry.data) !== applied.data) {
        throw new SimulationFailure(
          `leader ${id} lacks committed entry ${index} (term ${applied.term})`,
        );
      }
    }
  }

  private checkApplied(id: NodeId, entry: Entry, currentTerm: number): void {
    const data = decoder.decode(entry.data);
    const seen = this.appliedAt.get(entry.index);
    if (!seen) {
      this.appliedAt.set(entry.index, { term: entry.term, data, committedBy: currentTerm });
      return;
    }
    seen.committedBy = Math.min(seen.committedBy, currentTerm);
    if (seen.term !== entry.term || seen.data !== data) {
      throw new SimulationFailure(
        `${id} applied a different entry at ${entry.index} (term ${entry.term} vs ${seen.term})`,
      );
    }
  }

  /** Log matching: where two running nodes' logs hold an entry of the same index and term, all earlier entries agree. */
  checkLogMatching(): void {
    const logs = [...this.nodes.values()]
      .filter((n) => n.raft)
      .map((n) => {
        const s = n.raft!.status();
        return {
          id: n.id,
          from: s.snapshotIndex + 1,
          entries: n.raft!.entriesBetween(s.snapshotIndex + 1, s.lastIndex + 1),
        };
      });
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const x = logs[a]!;
        const y = logs[b]!;
        const start = Math.max(x.from, y.from);
        const end = Math.min(x.from + x.entries.length, y.from + y.entries.length) - 1;
        let matched = false;
        for (let i = end; i >= start; i--) {
          const ex = x.entries[i - x.from]!;
          const ey = y.entries[i - y.from]!;
          if (ex.term === ey.term) matched = true;
          if (
            matched &&
            (ex.term !== ey.term || decoder.decode(ex.data) !== decoder.decode(ey.data))
          ) {
            throw new SimulationFailure(`log matching broken between ${x.id} and ${y.id} at ${i}`);
          }
        }
      }
    }
  }

  /** Every acknowledged write is in the applied history at its index. */
  checkAcknowledged(): void {
    for (const ack of this.acknowledged) {
      const applied = this.appliedAt.get(ack.index);
      if (
        !applied ||
        applied.term !== ack.term ||
        decodeCommand(encoder.encode(applied.data)).opId !== ack.opId
      ) {
        throw new SimulationFailure(`acknowledged write ${ack.opId} at ${ack.index} was lost`);
      }
    }
  }

  // ---------------------------------------------------------------- clients

  leader(): NodeId | undefined {
    let best: { id: NodeId; term: number } | undefined;
    for (const node of this.nodes.values()) {
      const s = node.raft?.status();
      if (s?.role === "leader" && (!best || s.term > best.term)) best = { id: s.id, term: s.term };
    }
    return best?.id;
  }

  /** Proposes a write on node `id`; records it in the history when the node accepts it. */
  write(id: NodeId, op: "set" | "del", key: string, value = ""): boolean {
    const raft = this.node(id).raft;
    if (!raft) return false;
    const opId = this.nextOpId++;
    const result = raft.propose(encodeCommand({ op, key, value, opId }));
    if (!result.ok) return false;
    const history: HistoryOperation = {
      id: opId,
      key,
      kind: op,
      value,
      call: this.clock++,
      result: undefined,
      returned: undefined,
    };
    this.history.push(history);
    this.pending.push({
      op: history,
      node: id,
      index: result.index,
      term: result.term,
      context: "",
    });
    this.processNode(this.node(id));
    return true;
  }

  /** Starts a linearizable read of `key` on node `id`. */
  get(id: NodeId, key: string): boolean {
    const raft = this.node(id).raft;
    if (!raft) return false;
    const opId = this.nextOpId++;
    const context = `read-${opId}`;
    if (!raft.readIndex(context)) return false;
    const history: HistoryOperation = {
      id: opId,
      key,
      kind: "get",
      value: "",
      call: this.clock++,
      result: undefined,
      returned: undefined,
    };
    this.history.push(history);
    this.pending.push({ op: history, node: id, index: -1, term: 0, context });
    this.processNode(this.node(id));
    return true;
  }

  private completeWrites(node: SimNode, entry: Entry): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!;
      if (p.node !== node.id || p.index !== entry.index || p.op.kind === "get") continue;
      this.pending.splice(i, 1);
      // The entry at the proposal's index is ours only if the term matches; otherwise our
      // proposal was cut and its outcome stays unknown (it never returns).
      if (entry.term === p.term && decodeCommand(entry.data).opId === p.op.id) {
        p.op.returned = this.clock++;
        p.op.result = "ok";
        this.acknowledged.push({ index: entry.index, term: entry.term, opId: p.op.id });
      }
    }
  }

  private completeRead(node: SimNode, context: string, index: number): void {
    const p = this.pending.find((q) => q.context === context && q.node === node.id);
    if (!p) return;
    this.pending.splice(this.pending.indexOf(p), 1);
    this.pending.push({ ...p, index });
    this.completeReadsWaitingForApply(node);
  }

  private completeReadsWaitingForApply(node: SimNode): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!;
      if (p.node !== node.id || p.op.kind !== "get" || p.index < 0 || node.sm.applied < p.index)
        continue;
      this.pending.splice(i, 1);
      p.op.returned = this.clock++;
      p.op.result = this.kv(node).data.get(p.op.key) ?? null;
    }
  }

  /** Drops the pending operations of a node that crashed: their outcome stays unknown. */
  forgetPending(id: NodeId): void {
    for (let i = this.pending.length - 1; i >= 0; i--)
      if (this.pending[i]!.node === id) this.pending.splice(i, 1);
    for (let i = this.pendingCommands.length - 1; i >= 0; i--)
      if (this.pendingCommands[i]!.node === id) this.pendingCommands.splice(i, 1);
    for (let i = this.pendingBarriers.length - 1; i >= 0; i--)
      if (this.pendingBarriers[i]!.node === id) this.pendingBarriers.splice(i, 1);
  }

  /**
   * Proposes `data` on node `id` (for a custom state machine). `done` gets the state
   * machine's result once the entry is applied there in the term it was proposed in; if the
   * entry is cut or the node crashes, `done` is never called (the outcome is unknown).
   * False when the node is down or refuses the proposal.
   */
  proposeCommand(id: NodeId, data: Uint8Array, done: (result: unknown) => void): boolean {
    const raft = this.node(id).raft;
    if (!raft) return false;
    const result = raft.propose(data);
    if (!result.ok) return false;
    this.pendingCommands.push({ node: id, index: result.index, term: result.term, done });
    this.processNode(this.node(id));
    return true;
  }

  /**
   * Starts a linearizable read barrier on node `id`: `done` is called once the node's state
   * machine reflects every entry committed before the call. False when it cannot start.
   */
  readBarrier(id: NodeId, done: () => void): boolean {
    const raft = this.node(id).raft;
    if (!raft) return false;
    const context = `barrier-${this.nextOpId++}`;
    if (!raft.readIndex(context)) return false;
    this.pendingBarriers.push({ node: id, context, index: -1, done });
    this.processNode(this.node(id));
    return true;
  }

  /** Node `id`'s state machine, for reads after a barrier. */
  stateMachine(id: NodeId): SimStateMachine {
    return this.node(id).sm;
  }

  private completeCommands(node: SimNode, entry: Entry, result: unknown): void {
    for (let i = this.pendingCommands.length - 1; i >= 0; i--) {
      const p = this.pendingCommands[i]!;
      if (p.node !== node.id || p.index !== entry.index) continue;
      this.pendingCommands.splice(i, 1);
      if (entry.term === p.term) p.done(result);
    }
  }

  private completeBarriers(node: SimNode): void {
    for (let i = this.pendingBarriers.length - 1; i >= 0; i--) {
      const b = this.pendingBarriers[i]!;
      if (b.node !== node.id || b.index < 0 || node.sm.applied < b.index) continue;
      this.pendingBarriers.splice(i, 1);
      b.done();
    }
  }

  /** The term of the entry applied at `index` by any node, or undefined when none is applied. */
  appliedTerm(index: number): number | undefined {
    return this.appliedAt.get(index)?.term;
  }

  /** Index of the last entry `id` holds, for tests. */
  lastIndex(id: NodeId): number {
    return this.raft(id).status().lastIndex;
  }

  /** Stored snapshot of a node, for tests. */
  storedSnapshot(id: NodeId): SnapshotMeta {
    return this.node(id).storage.state().snapshot;
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, p) => sum + p.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
