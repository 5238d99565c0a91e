/**
 * What a chaos run records: every client operation with when it was invoked and when it
 * completed (or that its outcome is unknown), and every fault with when it began and ended.
 * Operations are checked by the linearizability checker; they, the faults and each member's
 * role over time are drawn on the timeline.
 */
import type { HistoryOperation } from "../raft/testing/linearizability.ts";

/**
 * How an operation ended: `ok` (it happened, with `result`), `fail` (it certainly did not
 * happen: refused before it was proposed), `unknown` (it may or may not have happened).
 */
export type Outcome = "ok" | "fail" | "unknown";

export interface ChaosOperation extends HistoryOperation {
  /** The client process that ran it. */
  readonly client: number;
  /** Milliseconds since the run began, for the timeline and the report. */
  readonly startMs: number;
  endMs: number | undefined;
  outcome: Outcome;
  /** The reply or error, as text, for the report. */
  detail: string;
}

export interface FaultRecord {
  readonly kind: string;
  /** What it did, for people: "kill n2 (leader)", "partition n1 | n2 n3". */
  readonly description: string;
  readonly startMs: number;
  endMs: number | undefined;
}

/** Most operations a run records: bounds memory and the checker's work. */
export const MAX_OPERATIONS = 200_000;

/** What a member was from `atMs` on: its Raft role, or `down`, `paused`, `unreachable`. */
export interface RoleChange {
  readonly atMs: number;
  readonly role: string;
}

/**
 * Role changes recorded per member at most: bounds a long run's memory even with a member
 * flapping every sample.
 */
export const MAX_ROLE_CHANGES = 10_000;

export class History {
  readonly operations: ChaosOperation[] = [];
  readonly faults: FaultRecord[] = [];
  /** Each member's role changes, in time order. */
  readonly roles = new Map<string, RoleChange[]>();
  private readonly startedAt = performance.now();
  private nextId = 1;

  /** Milliseconds since the run began. */
  now(): number {
    return performance.now() - this.startedAt;
  }

  get isFull(): boolean {
    return this.operations.length >= MAX_OPERATIONS;
  }

  /**
   * Records an invocation; the caller completes it with `complete`. `value` may be made from
   * the operation's id (a register write's unique value).
   */
  invoke(
    client: number,
    key: string,
    kind: string,
    value: string | ((id: number) => string),
  ): ChaosOperation {
    const startMs = this.now();
    const id = this.nextId++;
    const op: ChaosOperation = {
      id,
      client,
      key,
      kind,
      value: typeof value === "string" ? value : value(id),
      call: startMs,
      returned: undefined,
      result: undefined,
      startMs,
      endMs: undefined,
      outcome: "unknown",
      detail: "",
    };
    this.operations.push(op);
    return op;
  }

  /** Completes `op`: `result` is what the model compares (for `ok`). */
  complete(op: ChaosOperation, outcome: Outcome, result: string | null, detail: string): void {
    op.endMs = this.now();
    op.outcome = outcome;
    op.detail = detail.slice(0, 300);
    if (outcome === "ok") {
      op.returned = op.endMs;
      op.result = result;
    }
  }

  fault(kind: string, description: string): FaultRecord {
    const record: FaultRecord = { kind, description, startMs: this.now(), endMs: undefined };
    this.faults.push(record);
    return record;
  }

  endFault(record: FaultRecord): void {
    record.endMs ??= this.now();
  }

  /** Records that `member` is `role` now, when that is a change (and within the bound). */
  noteRole(member: string, role: string): void {
    const changes = this.roles.get(member) ?? [];
    this.roles.set(member, changes);
    if (changes.at(-1)?.role === role || changes.length >= MAX_ROLE_CHANGES) return;
    changes.push({ atMs: this.now(), role });
  }

  /** What the checker sees: operations that happened or may have. */
  checkable(): ChaosOperation[] {
    return this.operations.filter((op) => op.outcome !== "fail");
  }
}
