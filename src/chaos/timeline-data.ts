/**
 * What a chaos run's timeline page draws, as the report embeds it (JSON) and the page's script
 * (web/timeline.ts) reads it. Times are milliseconds since the run began.
 */

/** How an operation ended, as drawn: 0 ok, 1 did not happen, 2 unknown outcome. */
export type TimelineOutcome = 0 | 1 | 2;

/**
 * One operation, as a tuple to keep a long run's page small: its id, the client that ran it,
 * when it was invoked and completed (-1: never), its outcome, and its description.
 */
export type TimelineOperation = readonly [
  id: number,
  client: number,
  startMs: number,
  endMs: number,
  outcome: TimelineOutcome,
  text: string,
];

/** A member's role from `atMs` on: leader, follower, candidate, ..., or down, paused, unreachable. */
export interface TimelineRoleChange {
  readonly atMs: number;
  readonly role: string;
}

export interface TimelineData {
  readonly title: string;
  /** The verdict and counts, one line. */
  readonly summary: string;
  /** When the run's last recorded thing ended. */
  readonly endMs: number;
  /** Each member's role over time, in member order. */
  readonly roles: readonly {
    readonly member: string;
    readonly changes: readonly TimelineRoleChange[];
  }[];
  /** Every operation, in the order they were invoked. */
  readonly operations: readonly TimelineOperation[];
  readonly faults: readonly {
    readonly startMs: number;
    readonly endMs: number;
    readonly label: string;
  }[];
  /** Where the linearizability checker found the history wrong, when it did. */
  readonly violation?: {
    readonly key: string;
    /** The operation the checker could not place: the violation is there or before. */
    readonly operationId: number;
    readonly atMs: number;
    /** Every operation on the key, outlined on the page. */
    readonly operationIds: readonly number[];
  };
}
