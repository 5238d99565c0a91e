/**
 * The `raft` MetadataReplicator: the consensus library (`src/raft/`) driving the namespace
 * state machine. Commands are proposed to the Raft group; every replica applies committed
 * entries to its own store, in log order, with the applied index in the same transaction.
 */
import { NotLeaderError, UnavailableError } from "../common/errors.ts";
import { MetadataCommand } from "../gen/sandstore/v1/metadata.ts";
import type { CommandResult, LogEntry, MetadataStore } from "../metadata/metadata-store.ts";
import {
  type Entry,
  MembershipChangeRefusedError,
  OverloadedError,
  RaftNode,
  type RaftNodeOptions,
  NotLeaderError as RaftNotLeaderError,
  type SnapshotMeta,
  type StateMachine,
  StoppedError,
  TimeoutError,
} from "../raft/node.ts";
import type { MetadataReplicator, ReplicatorStatus } from "./metadata-replicator.ts";

/**
 * The namespace as a Raft state machine. Entries that carry no command (the leader's no-op,
 * membership changes) are applied as empty commands so the applied index has no gaps.
 */
export class NamespaceStateMachine implements StateMachine {
  constructor(
    private readonly store: MetadataStore,
    private readonly tempDir: string,
  ) {}

  apply(entries: readonly Entry[]): unknown[] {
    const applied = this.store.appliedIndex();
    const fresh = entries.filter((entry) => entry.index > applied);
    const logEntries: LogEntry[] = fresh.map((entry) => ({
      index: entry.index,
      command:
        entry.type === 0 && entry.data.length > 0
          ? MetadataCommand.decode(entry.data)
          : { command: undefined },
    }));
    const results = logEntries.length > 0 ? this.store.apply(logEntries) : [];
    const byIndex = new Map(fresh.map((entry, i) => [entry.index, results[i]]));
    return entries.map((entry) => byIndex.get(entry.index));
  }

  appliedIndex(): number {
    return this.store.appliedIndex();
  }

  snapshot() {
    return this.store.snapshot(this.tempDir);
  }

  restore(
    meta: SnapshotMeta,
    read: (offset: number, length: number) => Promise<Uint8Array>,
  ): Promise<void> {
    return this.store.restore(meta.index, meta.size, read);
  }
}

export interface RaftReplicatorOptions extends Omit<RaftNodeOptions, "stateMachine"> {
  readonly store: MetadataStore;
  /** Where snapshots are staged before they are streamed. */
  readonly tempDir: string;
}

/** Maps the consensus library's errors to the file store's typed errors; others pass through. */
export function translateRaftError(error: unknown): unknown {
  if (error instanceof RaftNotLeaderError)
    return new NotLeaderError(error.leaderId, error.leaderAddress);
  if (error instanceof TimeoutError)
    return new UnavailableError(
      "ETIMEDOUT",
      "",
      "the metadata group did not answer in time; the outcome is unknown",
    );
  if (error instanceof OverloadedError)
    return new UnavailableError("EAGAIN", "", "too many metadata proposals queued");
  if (error instanceof StoppedError) return new UnavailableError("EAGAIN", "", "node is stopping");
  if (error instanceof MembershipChangeRefusedError)
    return new UnavailableError("EAGAIN", "", error.message);
  return error;
}

export class RaftReplicator implements MetadataReplicator {
  readonly node: RaftNode;

  constructor(private readonly o: RaftReplicatorOptions) {
    this.node = new RaftNode({ ...o, stateMachine: new NamespaceStateMachine(o.store, o.tempDir) });
  }

  start(): Promise<void> {
    return this.node.start();
  }

  async propose(command: MetadataCommand): Promise<CommandResult> {
    try {
      const result = await this.node.propose(MetadataCommand.encode(command).finish());
      if (!result) throw new Error("a committed metadata command came back without a result");
      return result as CommandResult;
    } catch (error) {
      throw translateRaftError(error);
    }
  }

  async readBarrier(): Promise<void> {
    try {
      await this.node.readBarrier();
    } catch (error) {
      throw translateRaftError(error);
    }
  }

  status(): ReplicatorStatus {
    const s = this.node.status();
    const role = s.role === "preCandidate" ? "candidate" : s.role;
    return {
      role,
      term: s.term,
      commitIndex: s.commit,
      appliedIndex: this.o.store.appliedIndex(),
      leaderId: s.lead,
    };
  }

  stop(): Promise<void> {
    return this.node.stop();
  }
}
