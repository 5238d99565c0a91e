import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type CompareRow,
  formatFigure,
  formatGoalsTable,
  formatMarkdownTable,
  formatTerminalTable,
  goalMet,
  limitRatio,
  peerRatio,
  renderChart,
} from "./compare-table.ts";
import { parseFioJson } from "./fio.ts";

const rows: CompareRow[] = [
  {
    workload: "1 GiB sequential write",
    unit: "MiB/s",
    figures: { sandstore: 50, single: 100, moosefs: 40 },
    peer: "moosefs",
    limit: { value: 200, note: "fio write / 3" },
  },
  {
    workload: "KV put, 64 clients",
    unit: "ops/s",
    figures: { sandstore: 9000, etcd: 6000 },
    peer: "etcd",
  },
  { workload: "stat <&>", unit: "ops/s", figures: { single: 10 }, peer: "moosefs" },
];

test("ratios: Sandstore over its peer and over the limit; missing figures give none", () => {
  assert.equal(peerRatio(rows[0]!), 1.25);
  assert.equal(limitRatio(rows[0]!), 0.25);
  assert.equal(peerRatio(rows[1]!), 1.5);
  assert.equal(limitRatio(rows[1]!), undefined);
  assert.equal(peerRatio(rows[2]!), undefined);
});

test("figures keep about three significant digits", () => {
  assert.deepEqual([1234.6, 12.345, 0.5, undefined].map(formatFigure), [
    "1235",
    "12.3",
    "0.50",
    "-",
  ]);
});

test("the tables have a row per workload with the ratios; Markdown escapes pipes", () => {
  const terminal = formatTerminalTable(rows).split("\n");
  assert.equal(terminal.length, 4);
  assert.match(terminal[1]!, /1\.25x MooseFS\s+0\.25x$/);
  assert.match(terminal[2]!, /1\.50x etcd\s+-$/);
  const markdown = formatMarkdownTable([...rows, { ...rows[1]!, workload: "a|b" }]).split("\n");
  assert.equal(markdown.length, 6);
  assert.match(markdown[1]!, /^\| --- \| --- \| ---: /);
  assert.match(markdown[5]!, /^\| a\\|b \|/);
});

test("goals: met only when every ratio they name reaches it; the table links what limits the rest", () => {
  const whatLimits = "[why](performance.md#why)";
  const write = { ...rows[0]!, goal: { peerAtLeast: 1, limitAtLeast: 0.5, whatLimits } };
  const put = { ...rows[1]!, goal: { peerAtLeast: 1, whatLimits } };
  const unmeasured = { ...rows[2]!, goal: { peerAtLeast: 1, whatLimits } };
  assert.equal(goalMet(write), false, "1.25x the peer, but 0.25x the limit");
  assert.equal(goalMet({ ...write, goal: { ...write.goal, limitAtLeast: 0.25 } }), true);
  assert.equal(goalMet(put), true);
  assert.equal(goalMet(unmeasured), undefined);
  assert.equal(goalMet(rows[0]!), undefined, "no goal");
  const table = formatGoalsTable([write, put, unmeasured, rows[0]!]).split("\n");
  assert.equal(table.length, 5, "a header, its rule and a line per row with a goal");
  assert.equal(
    table[2],
    `| 1 GiB sequential write | 1.0x MooseFS and 0.5x the limit | 1.25x MooseFS, 0.25x limit | no | ${whatLimits} |`,
  );
  assert.equal(table[3], "| KV put, 64 clients | 1.0x etcd | 1.50x etcd | **yes** | - |");
  assert.match(table[4]!, /\| not measured \|/);
});

test("the chart draws a bar per figure and escapes text", () => {
  const svg = renderChart(rows, "Sandstore & peers");
  assert.match(svg, /^<svg /);
  assert.equal((svg.match(/<rect x=/g) ?? []).length, 3 + 2 + 1);
  assert.match(svg, /Sandstore &amp; peers/);
  assert.match(svg, /stat &lt;&amp;&gt;/);
});

test("fio's JSON gives MiB/s and IOPS; anything else is refused naming what is missing", () => {
  const json = JSON.stringify({ jobs: [{ write: { bw_bytes: 2 * 1024 * 1024, iops: 512 } }] });
  assert.deepEqual(parseFioJson(json, "write"), { mibPerSecond: 2, iops: 512 });
  assert.throws(() => parseFioJson(json, "read"), /jobs\[0\]\.read/);
  assert.throws(() => parseFioJson("fio: no such option", "write"), /fio printed no JSON/);
});
