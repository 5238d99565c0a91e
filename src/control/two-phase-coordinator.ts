/**
 * The `two-phase` TransactionCoordinator: phase one writes the chunk to every target in
 * parallel and waits for all answers, retrying unreachable ones once when short of W; phase
 * two, with at least W durable copies, proposes one conditional metadata commit. Aborts and lost races delete the copies they wrote, and
 * whatever a crash leaves behind is unreferenced and collected as garbage.
 */
import { fsError, SandstoreError, UnavailableError } from "../common/errors.ts";
import type { ReplicaAccess } from "../data/replica-access.ts";
import type { ControlPlane, WriteIntent } from "./control-plane.ts";
import type { TransactionCoordinator, WriteOutcome } from "./transaction-coordinator.ts";

/** How long a retried copy waits for a connection to its node, ms: past the reconnect backoff. */
const CONNECT_WAIT_MS = 1500;

/** True when `error` says a proposal was refused, not that its outcome is unknown. */
function isDefiniteRefusal(error: unknown): boolean {
  return error instanceof SandstoreError && error.code !== "EAGAIN" && error.code !== "ETIMEDOUT";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class TwoPhaseCoordinator implements TransactionCoordinator {
  constructor(
    private readonly control: ControlPlane,
    private readonly replicas: ReplicaAccess,
  ) {}

  async execute(intent: WriteIntent, data: Buffer, minFileSize: number): Promise<WriteOutcome> {
    const copies = await this.writeCopies(
      intent,
      intent.targets.map((t) => t.id),
      data,
      0,
    );
    const retry = copies.failures
      .filter(
        ({ error }) =>
          error instanceof UnavailableError ||
          (error instanceof SandstoreError && error.code === "EAGAIN"),
      )
      .map((failure) => failure.nodeId);
    if (copies.durable.length < intent.writeQuorum && retry.length > 0) {
      // Short of W: the failed targets get one more try, waiting for a connection. A node
      // back a moment ago can sit in its channel's reconnect backoff, where calls fail at
      // once; waiting in the first round would instead slow every write to a dead node.
      const again = await this.writeCopies(intent, retry, data, CONNECT_WAIT_MS, copies.checksum);
      copies.durable.push(...again.durable);
      copies.checksum ??= again.checksum;
      copies.failures = [
        ...copies.failures.filter((failure) => !retry.includes(failure.nodeId)),
        ...again.failures,
      ];
    }
    const { durable, checksum, failures } = copies;
    if (durable.length < intent.writeQuorum || checksum === undefined) {
      await this.discard(intent, durable);
      const first = failures[0]?.error;
      if (durable.length === 0 && first instanceof SandstoreError) throw first;
      // Every target's failure is named (there are at most R): the one that matters to an
      // operator is not always the first.
      const causes = failures.map(({ nodeId, error }) => `${nodeId}: ${messageOf(error)}`);
      throw fsError(
        "EAGAIN",
        intent.path,
        `${durable.length} of ${intent.writeQuorum} chunk copies durable${causes.length > 0 ? `; failed: ${causes.join("; ")}` : ""}`,
      );
    }
    let outcome: Awaited<ReturnType<ControlPlane["commitWrite"]>>;
    try {
      outcome = await this.control.commitWrite(intent, {
        length: data.length,
        checksum,
        replicas: durable,
        minFileSize,
      });
    } catch (error) {
      // A commit the metadata refused (EACCES, ENOENT, ENOSPC, ...) can never take effect:
      // its copies go now, so a full disk is not kept full until garbage collection's grace
      // period ends. An outcome that is unknown (a timeout, a lost leader) may yet commit, and
      // its copies stay for garbage collection to judge.
      if (isDefiniteRefusal(error)) await this.discard(intent, durable);
      throw error;
    }
    if (!outcome.committed) {
      await this.discard(intent, durable);
      return { kind: "conflict" };
    }
    return { kind: "committed", inode: outcome.inode };
  }

  /**
   * Writes the chunk to `nodeIds` in parallel. A copy whose checksum differs from `checksum`
   * (or from the first copy's, when not given) is not a copy of this chunk: not durable.
   */
  private async writeCopies(
    intent: WriteIntent,
    nodeIds: readonly string[],
    data: Buffer,
    connectWaitMs: number,
    checksum?: number,
  ): Promise<{
    durable: string[];
    checksum: number | undefined;
    failures: Array<{ nodeId: string; error: unknown }>;
  }> {
    const answers = await Promise.allSettled(
      nodeIds.map((id) => this.replicas.writeChunk(id, intent.chunkId, data, connectWaitMs)),
    );
    const durable: string[] = [];
    const failures: Array<{ nodeId: string; error: unknown }> = [];
    answers.forEach((answer, i) => {
      const nodeId = nodeIds[i]!;
      if (answer.status === "rejected") failures.push({ nodeId, error: answer.reason });
      else {
        checksum ??= answer.value.checksum;
        if (answer.value.checksum === checksum) durable.push(nodeId);
      }
    });
    return { durable, checksum, failures };
  }

  /** Best-effort removal of uncommitted copies; garbage collection catches what this misses. */
  private async discard(intent: WriteIntent, nodeIds: readonly string[]): Promise<void> {
    await Promise.allSettled(nodeIds.map((id) => this.replicas.deleteChunk(id, intent.chunkId)));
  }
}
