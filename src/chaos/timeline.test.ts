import assert from "node:assert/strict";
import { test } from "node:test";
import { checkLinearizable } from "../raft/testing/linearizability.ts";
import { History } from "./history.ts";
import { renderTimeline, timelineData } from "./timeline.ts";
import type { TimelineData } from "./timeline-data.ts";

/** The data a rendered page embeds, read back the way the page reads it. */
function embedded(page: string): TimelineData {
  const match = /<script id="timeline-data" type="application\/json">(.*?)<\/script>/s.exec(page);
  assert.ok(match?.[1], "the page embeds its data");
  return JSON.parse(match[1]) as TimelineData;
}

test("the timeline keeps every operation, each member's role changes, the faults and the violation", async () => {
  const history = new History();
  // More operations than the old page's limit of 20,000.
  for (let i = 0; i < 25_000; i++) {
    const op = history.invoke(i % 5, "k", "set", String(i));
    history.complete(op, i % 7 === 0 ? "fail" : "ok", "ok", "ok");
  }
  const write = history.invoke(2, "v", "set", "1");
  history.complete(write, "ok", "ok", "ok");
  const stale = history.invoke(1, "v", "get", "");
  history.complete(stale, "ok", "never written", "");
  history.noteRole("n1", "leader");
  history.noteRole("n1", "leader");
  history.noteRole("n1", "down");
  history.noteRole("n2", "follower");
  const fault = history.fault("kill", "kill n1 (leader)");
  history.endFault(fault);
  history.fault("partition", "partition lone: n3 | n1 n2 </script><b>");
  // Only key v is checked: the bulk's operations share timestamps, which makes them overlap.
  const verdict = checkLinearizable(history.checkable().filter((op) => op.key === "v"));
  assert.equal(verdict.ok, false);

  const data = timelineData(history, "kv seed 1: FAIL", "summary", verdict);
  assert.equal(data.operations.length, 25_002);
  assert.deepEqual(
    data.roles.map((r) => [r.member, r.changes.map((c) => c.role)]),
    [
      ["n1", ["leader", "down"]],
      ["n2", ["follower"]],
    ],
  );
  assert.equal(data.faults.length, 2);
  assert.ok(
    (data.faults[1]?.endMs ?? 0) >= (data.faults[1]?.startMs ?? Infinity),
    "an open fault ends at the run's end",
  );
  assert.equal(data.violation?.key, "v");
  assert.equal(data.violation?.operationId, stale.id);
  assert.deepEqual(data.violation?.operationIds, [write.id, stale.id]);

  const page = await renderTimeline(data);
  assert.deepEqual(embedded(page), data, "the page's data is the data");
  assert.ok(!page.includes("</script><b>"), "text from the run cannot close the data's script");
  assert.match(page, /<script type="module">/);
});

test("a passing run's timeline marks no violation", () => {
  const history = new History();
  const op = history.invoke(0, "k", "set", "1");
  history.complete(op, "ok", "ok", "ok");
  const data = timelineData(history, "t", "s", checkLinearizable(history.checkable()));
  assert.equal(data.violation, undefined);
  assert.ok(data.endMs > 0);
});
