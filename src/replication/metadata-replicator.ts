/**
 * The `MetadataReplicator` seam: orders metadata commands and applies them on every replica
 * of the `MetadataStore`. Implementations: `local` (one node, its own WAL) and `raft`.
 */
import type { CommandResult, MetadataCommand } from "../metadata/metadata-store.ts";

/** What a replicator reports for `sandstore status`. */
export interface ReplicatorStatus {
  readonly role: "leader" | "follower" | "candidate" | "learner" | "stopped";
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** Id of the node believed to lead, empty when none is known. */
  readonly leaderId: string;
}

export interface MetadataReplicator {
  /** Recovers from the log (replaying what the store has not applied) and starts serving. */
  start(): Promise<void>;

  /**
   * Proposes one command. Resolves with the command's result once it is committed (durable
   * on a majority of the group) and applied on this node. A command the state machine rejects
   * still resolves, with the errno in its result. Rejects with NotLeaderError (the leader's
   * address in it) on a node that cannot order commands, UnavailableError when the
   * proposal queue is full (EAGAIN) or no quorum answers in time (ETIMEDOUT), and
   * SandstoreError EIO when the log cannot be written (the replicator then stops).
   */
  propose(command: MetadataCommand): Promise<CommandResult>;

  /**
   * A linearizable read barrier: resolves once this node's store reflects every command that
   * was committed before the call. Rejects like `propose` when that cannot be established.
   */
  readBarrier(): Promise<void>;

  status(): ReplicatorStatus;

  /** Fails queued proposals with UnavailableError, waits for the batch in flight, closes the log. */
  stop(): Promise<void>;
}
