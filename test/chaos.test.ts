/**
 * The short chaos campaign that guards CI: each topology with every nemesis, against real
 * node processes, and a broken build the checks must catch.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { NEMESES, type NemesisKind, STATIC_NEMESES } from "../src/chaos/nemesis.ts";
import { kernelPartitionsAvailable } from "../src/chaos/network-namespaces.ts";
import { type ChaosOptions, type ChaosVerdict, runChaos } from "../src/chaos/run-chaos.ts";
import type { TimelineData } from "../src/chaos/timeline-data.ts";
import { temporaryDirectories } from "./helpers/temp-dirs.ts";

const tempDir = temporaryDirectories("sandstore-chaos-results-");

function explain(verdict: ChaosVerdict): string {
  return verdict.checks.map((c) => `${c.ok ? "ok" : "FAILED"} ${c.name}: ${c.detail}`).join("\n");
}

/** A 3-node run whose results go to a temporary directory. */
async function run(options: Omit<ChaosOptions, "nodes" | "resultsDir">): Promise<ChaosVerdict> {
  return runChaos({ ...options, nodes: 3, resultsDir: await tempDir() });
}

// The disaggregated run keeps its membership in etcd, with the etcd nemesis among the rest;
// the other two run on static membership.
for (const [topology, workload, seed, nemeses] of [
  ["kv", "register", 1, STATIC_NEMESES],
  ["hyperconverged", "files", 2, STATIC_NEMESES],
  ["disaggregated", "files", 6, NEMESES],
] as const satisfies ReadonlyArray<readonly [string, string, number, readonly NemesisKind[]]>) {
  test(`chaos: ${topology} under ${nemeses.length === NEMESES.length ? "every nemesis, on etcd" : "every static-membership nemesis"}: the ${workload} history checks out`, {
    timeout: 240_000,
  }, async () => {
    const verdict = await run({ topology, workload, seed, timeS: 40, nemeses });
    assert.ok(verdict.ok, explain(verdict));
    assert.ok(verdict.faults >= nemeses.length, `${verdict.faults} faults: each nemesis once`);
  });
}

test("chaos: a build that serves reads without ReadIndex is caught", {
  timeout: 180_000,
}, async () => {
  const verdict = await run({
    topology: "kv",
    workload: "register",
    seed: 3,
    timeS: 20,
    nemeses: ["partition", "pause"],
    brokenRule: "reads-without-readindex",
    keepFailedData: false,
  });
  assert.equal(verdict.ok, false, explain(verdict));
  assert.equal(verdict.checks.find((c) => c.name === "linearizable")?.ok, false, explain(verdict));
  // The timeline marks where the checker found it, and draws each member's role.
  const page = await readFile(join(verdict.dir, "timeline.html"), "utf8");
  const data = /<script id="timeline-data" type="application\/json">(.*?)<\/script>/s.exec(
    page,
  )?.[1];
  assert.ok(data, "the timeline embeds its data");
  const timeline = JSON.parse(data) as TimelineData;
  assert.ok(timeline.violation, "the timeline marks the violation");
  assert.ok(
    timeline.operations.some((op) => op[0] === timeline.violation?.operationId),
    "at one of the run's operations",
  );
  assert.deepEqual(
    timeline.roles.map((r) => r.member),
    ["n1", "n2", "n3"],
  );
  assert.ok(
    timeline.roles.every((r) =>
      r.changes.some((c) => c.role === "leader" || c.role === "follower"),
    ),
  );
});

test("chaos: partitions the kernel makes (network namespaces, nftables) on kv and hyperconverged", {
  timeout: 300_000,
}, async (t) => {
  // Decided inside the test: a top-level await between declarations would let the file's
  // after-hooks run before the tests declared after it.
  if (!(await kernelPartitionsAvailable())) {
    t.skip("needs root with ip and nft (apt-get install iproute2 nftables)");
    return;
  }
  for (const [topology, workload, seed] of [
    ["kv", "register", 4],
    ["hyperconverged", "files", 5],
  ] as const) {
    const verdict = await run({
      topology,
      workload,
      seed,
      timeS: 15,
      nemeses: ["partition"],
      network: "netns",
    });
    assert.ok(verdict.ok, explain(verdict));
    assert.ok(verdict.faults >= 2, `${verdict.faults} partitions`);
  }
});
