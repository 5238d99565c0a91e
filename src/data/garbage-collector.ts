/**
 * Garbage collection of chunks: deletes chunks that no committed metadata references and that
 * are not being written, once they are older than a grace period. Runs on start, then on an
 * interval, a bounded number of deletions per pass.
 */
import type { ChunkStore } from "../chunks/chunk-store.ts";

export interface GarbageCollectorOptions {
  readonly store: ChunkStore;
  /** True when committed metadata references the chunk. */
  readonly isReferenced: (chunkId: string) => boolean;
  /** True while a write of the chunk is between prepare and commit. */
  readonly isWriteInFlight: (chunkId: string) => boolean;
  /** Chunks younger than this are left alone (a write elsewhere may be about to commit). */
  readonly graceMs: number;
  /** Time between passes. */
  readonly intervalMs: number;
  /** Deletions per pass; bounds the work one pass does. Default 10,000. */
  readonly maxDeletesPerPass?: number;
  readonly onPass?: (result: { deleted: number; failed: number }) => void;
  readonly onError?: (error: unknown) => void;
}

export class GarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  /** Chunks deleted since start. */
  deletedTotal = 0;

  constructor(private readonly o: GarbageCollectorOptions) {}

  /** Runs one pass now and schedules the rest. */
  start(): void {
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.collect()
        .catch((error) => this.o.onError?.(error))
        .finally(() => this.schedule(this.o.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  /** One pass: returns how many chunks it deleted and how many deletions failed. */
  async collect(): Promise<{ deleted: number; failed: number }> {
    const limit = this.o.maxDeletesPerPass ?? 10_000;
    const cutoff = Date.now() - this.o.graceMs;
    let deleted = 0;
    let failed = 0;
    for (const chunk of await this.o.store.listChunks()) {
      if (deleted + failed >= limit || this.stopped) break;
      if (chunk.writtenAtMs > cutoff) continue;
      if (this.o.isWriteInFlight(chunk.id) || this.o.isReferenced(chunk.id)) continue;
      try {
        await this.o.store.deleteChunk(chunk.id);
        deleted++;
      } catch (error) {
        failed++;
        this.o.onError?.(error);
      }
    }
    this.deletedTotal += deleted;
    this.o.onPass?.({ deleted, failed });
    return { deleted, failed };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
