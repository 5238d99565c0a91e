import assert from "node:assert/strict";
import { test } from "node:test";
import { checkLinearizable, type HistoryOperation } from "./linearizability.ts";
import { seededRandom } from "./simulator.ts";

let nextId = 1;
function op(
  kind: HistoryOperation["kind"],
  value: string,
  call: number,
  returned: number | undefined,
  result?: string | null,
  key = "k",
): HistoryOperation {
  return {
    id: nextId++,
    key,
    kind,
    value,
    call,
    returned,
    result: kind === "get" ? (result ?? null) : "ok",
  };
}

test("rejects a stale read: a get after a completed set returns the old value", () => {
  const history = [op("set", "1", 0, 1), op("set", "2", 2, 3), op("get", "", 4, 5, "1")];
  assert.equal(checkLinearizable(history).ok, false);
});

test("a rejection names where the search got stuck: the stale read, after valid operations", () => {
  const stale = op("get", "", 40, 41, "1");
  const history = [
    op("set", "1", 0, 1),
    op("get", "", 2, 3, "1"),
    op("set", "2", 10, 11),
    op("get", "", 20, 21, "2"),
    stale,
    op("set", "3", 50, 51),
  ];
  const verdict = checkLinearizable(history);
  assert.equal(verdict.ok, false);
  assert.ok(verdict.ok === false && verdict.stuckAt === stale, JSON.stringify(verdict));
});

test("rejects a lost write: a completed set that no later read sees", () => {
  const history = [op("set", "1", 0, 1), op("get", "", 2, 3, null)];
  assert.equal(checkLinearizable(history).ok, false);
});

test("rejects a read of a value never written", () => {
  const history = [op("set", "1", 0, 1), op("get", "", 0, 2, "7")];
  assert.equal(checkLinearizable(history).ok, false);
});

test("rejects reads that see writes in two different orders", () => {
  const history = [
    op("set", "a", 0, 10),
    op("set", "b", 0, 10),
    op("get", "", 11, 12, "a"),
    op("get", "", 13, 14, "b"),
    op("get", "", 15, 16, "a"),
  ];
  assert.equal(checkLinearizable(history).ok, false);
});

test("accepts overlapping operations in any order consistent with real time", () => {
  const history = [
    op("set", "1", 0, 10),
    op("get", "", 1, 2, null),
    op("get", "", 3, 11, "1"),
    op("del", "", 12, 13),
    op("get", "", 14, 15, null),
  ];
  assert.deepEqual(checkLinearizable(history), { ok: true });
});

test("a write that never returned may or may not have happened", () => {
  assert.deepEqual(checkLinearizable([op("set", "x", 0, undefined), op("get", "", 5, 6, "x")]), {
    ok: true,
  });
  assert.deepEqual(checkLinearizable([op("set", "x", 0, undefined), op("get", "", 5, 6, null)]), {
    ok: true,
  });
  // ...but not before it was invoked.
  assert.equal(
    checkLinearizable([op("get", "", 0, 1, "x"), op("set", "x", 2, undefined)]).ok,
    false,
  );
});

test("keys are independent registers", () => {
  const history = [
    op("set", "1", 0, 1, undefined, "a"),
    op("get", "", 2, 3, null, "b"),
    op("get", "", 2, 3, "1", "a"),
  ];
  assert.deepEqual(checkLinearizable(history), { ok: true });
});

test("accepts a heavily concurrent valid history within seconds", () => {
  // A real register serializes 16 clients' operations at random points inside their intervals.
  const random = seededRandom(42);
  const history: HistoryOperation[] = [];
  let value: string | null = null;
  const events: Array<{ at: number; apply: () => void }> = [];
  for (let i = 0; i < 400; i++) {
    const call = Math.floor(random() * 2000);
    const returned = call + 1 + Math.floor(random() * 40);
    const point = call + random() * (returned - call);
    const kind = random() < 0.5 ? "get" : random() < 0.85 ? "set" : "del";
    const entry = op(kind, `v${i}`, call, returned);
    history.push(entry);
    events.push({
      at: point,
      apply: () => {
        if (kind === "set") value = entry.value;
        else if (kind === "del") value = null;
        else entry.result = value;
      },
    });
  }
  for (const event of events.sort((a, b) => a.at - b.at)) event.apply();
  const started = performance.now();
  assert.deepEqual(checkLinearizable(history, 10_000), { ok: true });
  assert.ok(performance.now() - started < 10_000);
  // Corrupt one read: the checker must notice.
  const read = history.find((h) => h.kind === "get" && h.result !== null)!;
  read.result = "never-written";
  assert.equal(checkLinearizable(history, 10_000).ok, false);
});
