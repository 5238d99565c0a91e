/**
 * Garbage collection of chunks: on each node it is told about, deletes the copies that no
 * committed metadata lists on that node (an aborted or superseded write, a removed file, a
 * copy repair moved elsewhere) and that are not being written, once they are older than a
 * grace period. In a cluster it runs on the leader only, once its metadata is current
 * (`shouldRun`), and reaches every node through `ReplicaAccess`. Each pass does a bounded
 * number of deletions.
 */
import { PeriodicTask } from "../common/periodic-task.ts";
import type { ReplicaAccess } from "./replica-access.ts";

export interface GarbageCollectorOptions {
  readonly replicas: ReplicaAccess;
  /** Ids of the nodes to collect on now (the live ones). */
  readonly nodes: () => readonly string[];
  /** True when committed metadata lists a copy of `chunkId` on `nodeId`. */
  readonly isWanted: (nodeId: string, chunkId: string) => Promise<boolean>;
  /** True while a write of the chunk is between prepare and commit on this node. */
  readonly isWriteInFlight: (chunkId: string) => boolean;
  /**
   * False while this node should not collect (a follower, or a leader whose metadata is not
   * yet current); checked before every pass.
   */
  readonly shouldRun?: () => boolean | Promise<boolean>;
  /**
   * Chunks younger than this are left alone: a write coordinated by another node may be
   * about to commit them, and this node cannot see it in flight.
   */
  readonly graceMs: number;
  /** Time between passes. */
  readonly intervalMs: number;
  /** Deletions per pass; bounds the work one pass does. Default 10,000. */
  readonly maxDeletesPerPass?: number;
  readonly onPass?: (result: { deleted: number; failed: number }) => void;
  readonly onError?: (error: unknown) => void;
}

export class GarbageCollector {
  private readonly task: PeriodicTask;
  /** Chunks deleted since start. */
  deletedTotal = 0;
  /** Completed passes since start. */
  passes = 0;
  /** When the last pass finished, ms since the epoch; 0 before the first. */
  lastPassMs = 0;

  constructor(private readonly o: GarbageCollectorOptions) {
    this.task = new PeriodicTask(
      async () => {
        if (this.o.shouldRun === undefined || (await this.o.shouldRun())) await this.collect();
      },
      o.intervalMs,
      o.onError,
    );
  }

  /** Runs one pass now and schedules the rest. */
  start(): void {
    this.task.start();
  }

  /** One pass: returns how many chunks it deleted and how many deletions failed. */
  async collect(): Promise<{ deleted: number; failed: number }> {
    const limit = this.o.maxDeletesPerPass ?? 10_000;
    const cutoff = Date.now() - this.o.graceMs;
    let deleted = 0;
    let failed = 0;
    for (const nodeId of this.o.nodes()) {
      let listing: Awaited<ReturnType<ReplicaAccess["listChunks"]>>;
      try {
        listing = await this.o.replicas.listChunks(nodeId);
      } catch (error) {
        // An unreachable node is collected on a later pass.
        this.o.onError?.(error);
        continue;
      }
      for (const chunk of listing) {
        if (deleted + failed >= limit || this.task.isStopped) break;
        if (chunk.writtenAtMs > cutoff) continue;
        if (this.o.isWriteInFlight(chunk.id) || (await this.o.isWanted(nodeId, chunk.id))) continue;
        try {
          await this.o.replicas.deleteChunk(nodeId, chunk.id);
          deleted++;
        } catch (error) {
          failed++;
          this.o.onError?.(error);
        }
      }
    }
    this.deletedTotal += deleted;
    this.passes++;
    this.lastPassMs = Date.now();
    this.o.onPass?.({ deleted, failed });
    return { deleted, failed };
  }

  stop(): Promise<void> {
    return this.task.stop();
  }
}
