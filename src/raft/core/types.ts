/**
 * The vocabulary of the consensus core: entries, persistent state, configuration, messages
 * and the `Ready` batch the core hands its driver. Plain data, no behaviour.
 */

/** A node's id, unique in its group. The empty string means "none". */
export type NodeId = string;

export const EntryType = { Normal: 0, ConfChange: 1 } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** One log entry. An entry of type Normal with empty data is the leader's no-op. */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must be durable before a node acts on it: its term, its vote in that term, its commit. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

/** The members of a group: voters decide, learners only receive the log. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** What a snapshot covers: every entry up to `index` (of `term`), and the configuration then. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
  /** Bytes of the state machine's snapshot. */
  readonly size: number;
}

/** One membership change; proposed through `Raft.proposeMembershipChange`. */
export type ConfChange =
  | { readonly type: "addLearner"; readonly node: NodeId }
  | { readonly type: "promote"; readonly node: NodeId }
  | { readonly type: "remove"; readonly node: NodeId };

interface Base {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** The messages nodes exchange. Every one carries its sender's term. */
export type Message =
  | (Base & {
      readonly type: "vote" | "preVote";
      readonly lastIndex: number;
      readonly lastTerm: number;
      /** Set for a campaign started by leadership transfer: bypasses the leader lease. */
      readonly transfer: boolean;
    })
  | (Base & { readonly type: "voteResp" | "preVoteResp"; readonly reject: boolean })
  | (Base & {
      readonly type: "append";
      readonly prevIndex: number;
      readonly prevTerm: number;
      readonly entries: readonly Entry[];
      readonly commit: number;
    })
  | (Base & {
      readonly type: "appendResp";
      readonly reject: boolean;
      /** On success the follower's last matching index; on rejection the index it rejected. */
      readonly index: number;
      /** On rejection: where the leader should look for the follower's last matching entry. */
      readonly hintIndex: number;
      readonly hintTerm: number;
    })
  | (Base & { readonly type: "heartbeat"; readonly commit: number; readonly context: string })
  | (Base & { readonly type: "heartbeatResp"; readonly context: string })
  | (Base & {
      readonly type: "snapshot";
      readonly meta: SnapshotMeta;
      /** Byte offset of this piece in the snapshot; the driver fills `data`. */
      readonly offset: number;
      readonly length: number;
      readonly data: Uint8Array;
      readonly done: boolean;
    })
  | (Base & {
      readonly type: "snapshotResp";
      readonly snapshotIndex: number;
      /** Bytes of the snapshot received in order so far; the next piece must start here. */
      readonly received: number;
      readonly reject: boolean;
    })
  | (Base & { readonly type: "timeoutNow" })
  | (Base & { readonly type: "readIndex"; readonly context: string })
  | (Base & { readonly type: "readIndexResp"; readonly context: string; readonly index: number });

export type MessageType = Message["type"];

/** A linearizable read that is now safe: once `index` is applied, read and answer `context`. */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}

/** A piece of an incoming snapshot for the driver to store, in order. */
export interface SnapshotPiece {
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly done: boolean;
}

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/** A role as reported: a follower that is not a voter is a learner. */
export type ReportedRole = Role | "learner";

/**
 * The work a driver does for one turn of the loop, in this order:
 * 1. persist `snapshotPieces`, then `entries` (replacing any stored entries at or after
 *    `entries[0].index`), then `hardState`, with one fsync: in that order, so that a torn
 *    write never leaves a commit index ahead of the entries it covers;
 * 2. then, and only then, send `messages` (they may promise what step 1 made durable);
 * 3. install `snapshot` (the pieces are complete) and apply `committedEntries` in order;
 * 4. answer `readStates` once their index is applied;
 * 5. call `advance(ready)`.
 */
export interface Ready {
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshotPieces: readonly SnapshotPiece[];
  readonly snapshot: SnapshotMeta | undefined;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
}
