/**
 * The `two-phase` TransactionCoordinator: phase one writes the chunk to every target in
 * parallel and waits for all answers; phase two, with at least W durable copies, proposes one
 * conditional metadata commit. Aborts and lost races delete the copies they wrote, and
 * whatever a crash leaves behind is unreferenced and collected as garbage.
 */
import { fsError, SandstoreError } from "../common/errors.ts";
import type { ReplicaAccess } from "../data/replica-access.ts";
import type { ControlPlane, WriteIntent } from "./control-plane.ts";
import type { TransactionCoordinator, WriteOutcome } from "./transaction-coordinator.ts";

export class TwoPhaseCoordinator implements TransactionCoordinator {
  constructor(
    private readonly control: ControlPlane,
    private readonly replicas: ReplicaAccess,
  ) {}

  async execute(intent: WriteIntent, data: Buffer, minFileSize: number): Promise<WriteOutcome> {
    const answers = await Promise.allSettled(
      intent.targets.map((target) => this.replicas.writeChunk(target.id, intent.chunkId, data)),
    );
    const durable: string[] = [];
    let checksum: number | undefined;
    let firstError: unknown;
    answers.forEach((answer, i) => {
      if (answer.status === "rejected") {
        firstError ??= answer.reason;
        return;
      }
      checksum ??= answer.value.checksum;
      // A replica that stored different bytes than its peers is not a copy of this chunk.
      if (answer.value.checksum === checksum) durable.push(intent.targets[i]!.id);
    });
    if (durable.length < intent.writeQuorum || checksum === undefined) {
      await this.discard(intent, durable);
      if (durable.length === 0 && firstError instanceof SandstoreError) throw firstError;
      const cause = firstError instanceof Error ? `; first failure: ${firstError.message}` : "";
      throw fsError(
        "EAGAIN",
        intent.path,
        `${durable.length} of ${intent.writeQuorum} chunk copies durable${cause}`,
      );
    }
    const outcome = await this.control.commitWrite(intent, {
      length: data.length,
      checksum,
      replicas: durable,
      minFileSize,
    });
    if (!outcome.committed) {
      await this.discard(intent, durable);
      return { kind: "conflict" };
    }
    return { kind: "committed", inode: outcome.inode };
  }

  /** Best-effort removal of uncommitted copies; garbage collection catches what this misses. */
  private async discard(intent: WriteIntent, nodeIds: readonly string[]): Promise<void> {
    await Promise.allSettled(nodeIds.map((id) => this.replicas.deleteChunk(id, intent.chunkId)));
  }
}
