/**
 * `sandstore demo` (issue 17): each of the four demos runs to its end on a cluster it starts,
 * non-interactively, and ends by finding every acknowledged write intact; the repair demo also
 * on the disaggregated topology. `--step` waits for Enter before each step. Against a running
 * cluster (`--cluster`), the election is a leadership transfer, and the failover demo asks the
 * operator to kill and restart the leader, which the test does when told.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { NODE_RUNTIME_FLAGS } from "../src/common/runtime-flags.ts";
import { Cluster } from "./helpers/hyperconverged-cluster.ts";
import { CLI, runCli } from "./helpers/node-process.ts";

/** Checks a demo's whole output: numbered steps to the last, and the final verdict. */
function assertCompleted(output: string, steps: number): void {
  for (let step = 1; step <= steps; step++)
    assert.match(output, new RegExp(`Step ${step} of ${steps}: `), output);
  assert.match(output, /no acknowledged write was lost/, output);
  assert.match(output, /Done: \d+ acknowledged writes, none lost\./, output);
}

for (const [name, steps] of [
  ["election", 6],
  ["failover", 5],
  ["partition", 5],
  ["repair", 5],
] as const) {
  test(`demo ${name} runs to its end on a cluster it starts, and loses no acknowledged write`, async () => {
    const { code, stdout, stderr } = await runCli(["demo", name, "--http-base-port", "0"]);
    const output = stdout.toString();
    assert.equal(code, 0, `${output}\n${stderr}`);
    assertCompleted(output, steps);
    assert.match(output, /Dashboard: http:\/\/127\.0\.0\.1:\d+\//);
    if (name === "election") assert.match(output, /won the election of term \d+/);
    if (name === "failover") assert.match(output, /Writes stalled for \d+\.\d+ s/);
    if (name === "partition") assert.match(output, /Not acknowledged: /);
    if (name === "repair") assert.match(output, /copies made since the kill/);
  });
}

test("demo repair on the disaggregated topology: a data server's copies go to the others", async () => {
  const { code, stdout, stderr } = await runCli([
    "demo",
    "repair",
    "--topology",
    "disaggregated",
    "--http-base-port",
    "0",
  ]);
  const output = stdout.toString();
  assert.equal(code, 0, `${output}\n${stderr}`);
  assertCompleted(output, 5);
  assert.match(output, /Kill d\d, which holds \d+ chunk copies/);
});

test("demo --step waits for Enter before each step, while the dashboard shows its cluster", async () => {
  const child = spawn(
    process.execPath,
    [CLI, "demo", "election", "--step", "--http-base-port", "0"],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let entered = 0;
  let output = "";
  let dashboard: string | undefined;
  const early: string[] = [];
  let shown: Promise<number> | undefined;
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    output += `${line}\n`;
    const step = /^Step (\d+) of/.exec(line);
    // A step's heading comes only after Enter was pressed for every step before it.
    if (step && Number(step[1]) > entered + 1)
      early.push(`step ${step[1]} after ${entered} Enters`);
    dashboard ??= /^Dashboard: (\S+)/.exec(line)?.[1];
    if (!line.includes("(Enter to go on)")) return;
    entered++;
    if (entered > 1 || !dashboard) {
      child.stdin.write("\n");
      return;
    }
    // Paused at the first step: the dashboard's node serves the demo's cluster now.
    shown = fetch(`${dashboard}api/v1/cluster/status`)
      .then(async (response) => ((await response.json()) as { nodes: unknown[] }).nodes.length)
      .finally(() => child.stdin.write("\n"));
  });
  const code = await new Promise<number | null>((done) => child.once("exit", done));
  assert.equal(code, 0, output);
  assert.deepEqual(early, [], output);
  assert.equal(entered, 6, output);
  assert.equal(await shown, 3, "the dashboard's node lists the demo's three members");
  assertCompleted(output, 6);
});

describe("demos against a running cluster (--cluster)", () => {
  const cluster = new Cluster({ size: 3, http: true });

  before(async () => {
    await cluster.start();
    await cluster.leader(20_000);
  });
  after(() => cluster.close());

  test("demo election hands leadership over, and finds every write", async () => {
    const { code, stdout, stderr } = await runCli(
      ["demo", "election", "--cluster", cluster.addresses.join(",")],
      { SANDSTORE_CLUSTER_TOKEN: cluster.token },
    );
    const output = stdout.toString();
    assert.equal(code, 0, `${output}\n${stderr}`);
    assertCompleted(output, 6);
    assert.match(output, /Ask n\d to hand over to n\d/);
    assert.match(output, /Dashboard: http:\/\/127\.0\.0\.1:\d+\//);
  });

  test("demo failover asks the operator to kill and restart the leader, and waits until done", async () => {
    const child = spawn(
      process.execPath,
      [...NODE_RUNTIME_FLAGS, CLI, "demo", "failover", "--cluster", cluster.addresses.join(",")],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, SANDSTORE_CLUSTER_TOKEN: cluster.token },
      },
    );
    let output = "";
    const acts: Promise<void>[] = [];
    createInterface({ input: child.stdout }).on("line", (line) => {
      output += `${line}\n`;
      const stop = /Now you: stop (n\d) /.exec(line);
      if (stop?.[1]) acts.push(cluster.kill(Number(stop[1].slice(1)) - 1));
      const start = /Now you: start (n\d) again/.exec(line);
      if (start?.[1]) acts.push(cluster.startNode(Number(start[1].slice(1)) - 1));
    });
    let stderr = "";
    child.stderr.on("data", (piece) => {
      stderr += String(piece);
    });
    const code = await new Promise<number | null>((done) => child.once("exit", done));
    await Promise.all(acts);
    assert.equal(code, 0, `${output}\n${stderr}`);
    assert.equal(acts.length, 2, output);
    assertCompleted(output, 5);
  });
});
