/**
 * The `local` MetadataReplicator: one node orders its own commands. Proposals are batched
 * (group commit): each batch is appended to the WAL with one fsync, then applied to the store
 * in one transaction. A command is acknowledged only after both.
 */
import { join } from "node:path";
import { fsError, UnavailableError } from "../common/errors.ts";
import type {
  CommandResult,
  LogEntry,
  MetadataCommand,
  MetadataStore,
} from "../metadata/metadata-store.ts";
import { encodeEntryRecord, LocalWal } from "./local-wal.ts";
import type { MetadataReplicator, ReplicatorStatus } from "./metadata-replicator.ts";

/** Options of the local replicator; every limit has a default that suits one node. */
export interface LocalReplicatorOptions {
  /** Directory for the WAL; owned by the replicator. */
  readonly dir: string;
  readonly store: MetadataStore;
  /** This node's id, reported as the leader. */
  readonly nodeId: string;
  /** Proposals waiting beyond this are refused with EAGAIN. Default 10,000. */
  readonly maxQueuedProposals?: number;
  /** Entries in one batch (one fsync). Default 1,024. */
  readonly maxBatchEntries?: number;
  /** Once the WAL passes this size it is reset after the store is flushed. Default 64 MiB. */
  readonly walResetBytes?: number;
  /** Called with what recovery found, for the node's log. */
  readonly onRecovery?: (info: { replayed: number; truncatedBytes: number }) => void;
}

interface Pending {
  readonly command: MetadataCommand;
  readonly resolve: (result: CommandResult) => void;
  readonly reject: (error: unknown) => void;
}

export class LocalReplicator implements MetadataReplicator {
  private wal: LocalWal | undefined;
  private queue: Pending[] = [];
  private lastIndex = 0;
  /** The drain loop, for `stop` to wait for; settled once it has emptied the queue. */
  private running: Promise<void> | undefined;
  /**
   * True from a drain's start until the synchronous moment it finds the queue empty. Kept
   * apart from `running`: a promise's `finally` runs a microtask after the loop ends, and a
   * proposal queued in between would find a drain "running" that never looks at it again.
   */
  private draining = false;
  private stopped = false;
  private failure: unknown;
  private readonly maxQueued: number;
  private readonly maxBatch: number;
  private readonly walResetBytes: number;

  constructor(private readonly options: LocalReplicatorOptions) {
    this.maxQueued = options.maxQueuedProposals ?? 10_000;
    this.maxBatch = options.maxBatchEntries ?? 1024;
    this.walResetBytes = options.walResetBytes ?? 64 * 1024 * 1024;
  }

  async start(): Promise<void> {
    const { wal, recovery } = await LocalWal.open(join(this.options.dir, "metadata.wal"));
    const store = this.options.store;
    const applied = store.appliedIndex();
    const first = recovery.entries[0];
    if (first && first.index > applied + 1) {
      await wal.close();
      throw new Error(
        `metadata WAL starts at index ${first.index} but the store has applied only ${applied}: entries are missing`,
      );
    }
    const toReplay = recovery.entries.filter((entry) => entry.index > applied);
    if (toReplay.length > 0) store.apply(toReplay);
    this.lastIndex = Math.max(applied, recovery.entries.at(-1)?.index ?? 0);
    this.wal = wal;
    this.options.onRecovery?.({
      replayed: toReplay.length,
      truncatedBytes: recovery.truncatedBytes,
    });
  }

  propose(command: MetadataCommand): Promise<CommandResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopped || !this.wal)
      return Promise.reject(
        new UnavailableError("EAGAIN", "", "metadata replicator is not running"),
      );
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(
        new UnavailableError("EAGAIN", "", "too many metadata proposals queued"),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        this.running = this.drain();
      }
    });
  }

  async readBarrier(): Promise<void> {
    // Every acknowledged command was applied before its acknowledgement: nothing to wait for.
    if (this.failure) throw this.failure;
  }

  status(): ReplicatorStatus {
    const applied = this.options.store.appliedIndex();
    return {
      role: this.stopped ? "stopped" : "leader",
      term: 1,
      commitIndex: this.lastIndex,
      appliedIndex: applied,
      leaderId: this.options.nodeId,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const refused = this.queue.splice(0);
    for (const pending of refused)
      pending.reject(new UnavailableError("EAGAIN", "", "node is stopping"));
    await this.running;
    await this.wal?.close();
    this.wal = undefined;
  }

  /**
   * Writes and applies batches until the queue is empty. One runs at a time. `draining` is
   * cleared in the same synchronous step that finds the queue empty (no await between them),
   * so a proposal queued later always starts a new drain.
   */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.queue.splice(0, this.maxBatch);
        const entries: LogEntry[] = batch.map((pending, i) => ({
          index: this.lastIndex + 1 + i,
          command: pending.command,
        }));
        try {
          await this.wal!.append(entries.map(encodeEntryRecord));
          this.lastIndex += entries.length;
          const results = this.options.store.apply(entries);
          for (const [i, pending] of batch.entries()) pending.resolve(results[i]!);
        } catch (error) {
          // A log that cannot be written cannot be trusted with more: fail this batch and all later.
          this.failure = fsError("EIO", "metadata log", String(error));
          for (const pending of [...batch, ...this.queue.splice(0)]) pending.reject(this.failure);
          return;
        }
        await this.maybeResetWal();
      }
    } finally {
      this.draining = false;
    }
  }

  private async maybeResetWal(): Promise<void> {
    if (this.wal!.byteSize() < this.walResetBytes) return;
    const durable = await this.options.store.flush();
    if (durable >= this.lastIndex) await this.wal!.reset();
  }
}
