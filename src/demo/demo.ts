/**
 * What every guided demo shares: the context it runs in, the steps they have in common
 * (show the members, write files, wait for a leader) and the ending every demo has: every
 * acknowledged write read back and compared.
 */
import type { SandstoreClient } from "../client/sandstore-client.ts";
import { waitFor } from "../common/wait-for.ts";
import type { AdminNodeState } from "../transport/grpc-admin-service.ts";
import {
  type AcknowledgedWrites,
  demoFileContents,
  type WriteCheck,
} from "./acknowledged-writes.ts";
import type { DemoCluster } from "./demo-cluster.ts";
import type { Narrator } from "./narrator.ts";

/** Everything a demo acts through. */
export interface DemoContext {
  readonly cluster: DemoCluster;
  readonly narrator: Narrator;
  readonly writes: AcknowledgedWrites;
  /**
   * A file client of `addresses` (default: every member) that retries a failed call for
   * `retryForMs` (default 10 s). The caller closes it.
   */
  client(addresses?: readonly string[], retryForMs?: number): SandstoreClient;
  /** How long to wait for what a fault should bring about: longer when a person causes it. */
  readonly patienceMs: number;
  /** The directory the demo's files go under, made by the runner. */
  readonly directory: string;
}

/** One guided demo. */
export interface Demo {
  readonly name: string;
  /** One line for `--help`. */
  readonly summary: string;
  /** Steps `run` narrates; the runner adds one, the final check. */
  readonly steps: number;
  run(context: DemoContext): Promise<void>;
}

/** Figures of one member for a narration line: `n2 leader, term 3, commit 41, applied 41`. */
export function describeMember(id: string, state: AdminNodeState | undefined): string {
  if (!state) return `${id} does not answer`;
  return `${id} ${state.role}, term ${state.term}, commit ${state.commitIndex}, applied ${state.appliedIndex}`;
}

/** Narrates every member's state; returns the states. */
export async function showMembers(
  context: DemoContext,
): Promise<ReadonlyMap<string, AdminNodeState | undefined>> {
  const states = await context.cluster.states();
  for (const [id, state] of states) context.narrator.say(describeMember(id, state));
  return states;
}

/** The member that leads, by its own word, with its state. */
export interface Leadership {
  readonly id: string;
  readonly term: number;
}

/**
 * Waits until a member other than `except` says it leads in a term above `aboveTerm`, and
 * every other member answering agrees on no higher term with another leader.
 */
export async function awaitLeader(
  context: DemoContext,
  what: string,
  options: { except?: string; aboveTerm?: number } = {},
): Promise<Leadership> {
  let found: Leadership | undefined;
  await waitFor(
    async () => {
      const states = await context.cluster.states();
      for (const [id, state] of states) {
        if (state?.role !== "leader" || id === options.except) continue;
        if (state.term <= (options.aboveTerm ?? -1)) continue;
        found = { id, term: state.term };
        return true;
      }
      return false;
    },
    what,
    context.patienceMs,
  );
  if (!found) throw new Error(`no leader found while waiting for ${what}`);
  return found;
}

/**
 * Bytes of each file a demo writes: more than a slot holds inline in the metadata (16 KiB), so
 * each is stored as a chunk on R servers.
 */
export const DEMO_FILE_BYTES = 40_000;

/**
 * Writes `count` files named `<directory>/<prefix>-<i>` through `client`; each acknowledged
 * one is recorded. Returns how many were acknowledged; throws the first failure.
 */
export async function writeFiles(
  context: DemoContext,
  client: SandstoreClient,
  prefix: string,
  count: number,
): Promise<number> {
  for (let i = 0; i < count; i++) {
    const path = `${context.directory}/${prefix}-${String(i).padStart(3, "0")}`;
    await context.writes.write(client, path, demoFileContents(path, DEMO_FILE_BYTES));
  }
  return count;
}

/** Runs `body` with a client of every member, closing it after. */
export async function withClient<T>(
  context: DemoContext,
  body: (client: SandstoreClient) => Promise<T>,
  addresses?: readonly string[],
  retryForMs?: number,
): Promise<T> {
  const client = context.client(addresses, retryForMs);
  try {
    return await body(client);
  } finally {
    await client.closeClient();
  }
}

/** The last step of every demo: each acknowledged write read back through every member. */
export async function checkAcknowledgedWrites(context: DemoContext): Promise<WriteCheck> {
  await context.narrator.step(
    "Check that no acknowledged write was lost",
    [
      `Every file the cluster acknowledged in this demo (${context.writes.count}) is read back and compared, byte for byte, with what was written.`,
      "Writes that failed or timed out are not counted: nothing was promised about them.",
    ],
    "the verdict below.",
  );
  const result = await withClient(context, (client) => context.writes.verify(client));
  if (result.lost.length === 0)
    context.narrator.say(
      `All ${result.checked} acknowledged files read back intact: no acknowledged write was lost.`,
    );
  else {
    context.narrator.say(`${result.lost.length} of ${result.checked} acknowledged files LOST:`);
    for (const line of result.lost.slice(0, 20)) context.narrator.say(`  ${line}`);
  }
  return result;
}

/** Milliseconds since `since` (performance.now()), as "840 ms" or "2.3 s". */
export function elapsed(since: number): string {
  const ms = performance.now() - since;
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
