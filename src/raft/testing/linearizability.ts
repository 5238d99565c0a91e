/**
 * A linearizability checker for key-value histories: Wing and Gong's search with the
 * memoization of Lowe and Porcupine (a cache of linearized-set + state pairs already seen).
 * Keys are independent registers, so the history is checked one key at a time.
 *
 * An operation that never returned (a timed-out write) may have taken effect at any point
 * after its call, or never: it is placed with a return at infinity. A read that never
 * returned has no effect and is dropped.
 */

export interface HistoryOperation {
  readonly id: number;
  readonly key: string;
  /** What the operation does, as the model reads it (`set`, `del`, `get` for the register). */
  readonly kind: string;
  /** The value written by a set. */
  readonly value: string;
  /** When the client invoked it (any increasing clock). */
  call: number;
  /** When it returned; undefined when its outcome is unknown. */
  returned: number | undefined;
  /** For a get: the value read, or null for none. For writes: "ok". */
  result: string | null | undefined;
}

export type CheckResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly key: string;
      readonly operations: readonly HistoryOperation[];
      /**
       * Where the search failed: the operation whose return it reached, at its longest
       * linearized prefix, without a way to place it before. The violation is at or before it.
       */
      readonly stuckAt: HistoryOperation;
    }
  | { readonly ok: "timeout"; readonly key: string };

/** The state of one key: a string, or null for none. */
export type State = string | null;

/**
 * What the checked object does, one key at a time: `step` says what `op` does to `state`, or
 * undefined when its recorded result cannot happen there; `isRead` names operations without
 * effect (one that never returned is dropped).
 */
export interface Model {
  step(state: State, op: HistoryOperation): State | undefined;
  isRead(op: HistoryOperation): boolean;
}

/** The key-value register: `set`, `del` and `get`. */
export const registerModel: Model = {
  step(state, op) {
    switch (op.kind) {
      case "set":
        return op.value;
      case "del":
        return null;
      case "get":
        return op.result === state ? state : undefined;
      default:
        return undefined;
    }
  },
  isRead: (op) => op.kind === "get",
};

interface Node {
  op: HistoryOperation;
  /** Position of the operation among the key's operations (its bit). */
  bit: number;
  isCall: boolean;
  /** The call's return node, or the return's call node. */
  match: Node | undefined;
  prev: Node | undefined;
  next: Node | undefined;
}

/** One key's verdict: linearizable, given up, or not, with where the search got stuck. */
type KeyVerdict = true | "timeout" | { readonly stuckAt: HistoryOperation };

/**
 * Checks one key's operations. `deadline` is a time from `performance.now()` after which the
 * search gives up and reports a timeout (never a false verdict).
 */
function checkKey(ops: readonly HistoryOperation[], model: Model, deadline: number): KeyVerdict {
  // Events in time order; a call sorts before a return at the same time (the permissive order).
  const events: Array<{ time: number; isCall: boolean; index: number }> = [];
  ops.forEach((op, index) => {
    events.push({ time: op.call, isCall: true, index });
    events.push({ time: op.returned ?? Number.POSITIVE_INFINITY, isCall: false, index });
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Node = {
    op: ops[0]!,
    bit: -1,
    isCall: false,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let tail = head;
  const calls: Node[] = [];
  for (const event of events) {
    const node: Node = {
      op: ops[event.index]!,
      bit: event.index,
      isCall: event.isCall,
      match: undefined,
      prev: tail,
      next: undefined,
    };
    tail.next = node;
    tail = node;
    if (event.isCall) calls[event.index] = node;
    else {
      node.match = calls[event.index];
      calls[event.index]!.match = node;
    }
  }
  const lift = (call: Node) => {
    call.prev!.next = call.next;
    if (call.next) call.next.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: Node) => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next) call.next.prev = call;
  };
  const linearized = new Uint8Array(ops.length);
  const seen = new Set<string>();
  const stack: Array<{ node: Node; state: State }> = [];
  let state: State = null;
  let entry = head.next;
  let steps = 0;
  // The deepest the search got (operations linearized) and the return it could not pass there.
  let deepest = -1;
  let stuckAt = head.op;
  while (head.next) {
    if (++steps % 4096 === 0 && performance.now() > deadline) return "timeout";
    if (!entry) return { stuckAt };
    if (entry.isCall) {
      const next = model.step(state, entry.op);
      if (next !== undefined) {
        linearized[entry.bit] = 1;
        const key = `${linearized.join("")}|${next}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ node: entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[entry.bit] = 0;
      }
      entry = entry.next;
      continue;
    }
    // A return with its call not yet linearized: undo the last choice and try the next.
    if (stack.length > deepest) {
      deepest = stack.length;
      stuckAt = entry.op;
    }
    const top = stack.pop();
    if (!top) return { stuckAt };
    state = top.state;
    linearized[top.node.bit] = 0;
    unlift(top.node);
    entry = top.node.next;
  }
  return true;
}

/** Checks a whole history against `model` (the register by default), key by key, within `timeoutMs` overall. */
export function checkLinearizable(
  history: readonly HistoryOperation[],
  timeoutMs = 10_000,
  model: Model = registerModel,
): CheckResult {
  const deadline = performance.now() + timeoutMs;
  const byKey = new Map<string, HistoryOperation[]>();
  for (const op of history) {
    if (model.isRead(op) && op.returned === undefined) continue;
    const ops = byKey.get(op.key) ?? [];
    ops.push(op);
    byKey.set(op.key, ops);
  }
  for (const [key, ops] of byKey) {
    const verdict = checkKey(ops, model, deadline);
    if (verdict === "timeout") return { ok: "timeout", key };
    if (verdict !== true) return { ok: false, key, operations: ops, stuckAt: verdict.stuckAt };
  }
  return { ok: true };
}
