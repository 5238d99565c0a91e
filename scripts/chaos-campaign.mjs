#!/usr/bin/env node
/**
 * A chaos campaign: `sandstore chaos` runs back to back for a given time, rotating through
 * topologies, cluster sizes and nemesis sets, each with its own seed, then a summary of every
 * run found under the results directory (runs, operations, faults by kind, failures with
 * their replay commands).
 *
 *   node scripts/chaos-campaign.mjs [--hours H] [--run-seconds S] [--first-seed N]
 *                                   [--nemeses LIST[;LIST...]] [--nodes 3,5]
 *                                   [--topologies kv,hyperconverged] [--networks loopback,netns]
 *                                   [--results-dir DIR]
 *   node scripts/chaos-campaign.mjs --summarize DIR
 *
 * Runs are sequential: two clusters on one small machine would test the scheduler, not us.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    hours: { type: "string", default: "2" },
    "run-seconds": { type: "string", default: "60" },
    "first-seed": { type: "string", default: "1000" },
    nemeses: { type: "string", default: "kill,pause,partition,corrupt,transfer,membership" },
    nodes: { type: "string", default: "3,5" },
    topologies: { type: "string", default: "kv,hyperconverged" },
    networks: { type: "string", default: "loopback" },
    "results-dir": { type: "string", default: "results/campaign" },
    summarize: { type: "string" },
  },
});

function positive(name, text) {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} must be a positive number, got "${text}"`);
    process.exit(2);
  }
  return value;
}

/** Every report.json under `dir` (one directory per run). */
function reports(dir) {
  if (!existsSync(dir)) return [];
  return (
    readdirSync(dir, { withFileTypes: true })
      // Symbolic links count too: a summary over several campaigns links their runs together.
      .filter((entry) => existsSync(join(dir, entry.name, "report.json")))
      .map((entry) => {
        const runDir = join(dir, entry.name);
        const report = JSON.parse(readFileSync(join(runDir, "report.json"), "utf8"));
        const faults = JSON.parse(readFileSync(join(runDir, "faults.json"), "utf8"));
        return { runDir, report, faults };
      })
      .sort((a, b) => (a.runDir < b.runDir ? -1 : 1))
  );
}

function summarize(dir) {
  const runs = reports(dir);
  const ops = { ok: 0, fail: 0, unknown: 0 };
  const faultKinds = new Map();
  const byShape = new Map();
  const failures = [];
  for (const { runDir, report, faults } of runs) {
    for (const key of Object.keys(ops)) ops[key] += report.operations[key] ?? 0;
    for (const fault of faults) faultKinds.set(fault.kind, (faultKinds.get(fault.kind) ?? 0) + 1);
    const o = report.options;
    const shape = `${o.topology}, ${o.nodes} nodes${o.network === "netns" ? ", netns" : ""}`;
    const row = byShape.get(shape) ?? { runs: 0, seconds: 0, failed: 0 };
    row.runs++;
    row.seconds += o.timeS;
    if (report.verdict !== "pass") row.failed++;
    byShape.set(shape, row);
    if (report.verdict !== "pass") {
      const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
      failures.push(`- ${runDir} (seed ${o.seed}, ${o.nemeses.join(",")}): ${failed.join("; ")}`);
    }
  }
  const seconds = [...byShape.values()].reduce((sum, row) => sum + row.seconds, 0);
  const lines = [
    `# Chaos campaign: ${runs.length} runs, ${failures.length} failed`,
    "",
    `Workload time under faults: ${(seconds / 3600).toFixed(2)} h.`,
    `Operations: ${ops.ok} ok, ${ops.fail} failed, ${ops.unknown} unknown outcome.`,
    `Faults: ${[...faultKinds].map(([kind, n]) => `${kind} ${n}`).join(", ") || "none"}.`,
    "",
    "| cluster | runs | workload seconds | failed |",
    "|---|---|---|---|",
    ...[...byShape].map(
      ([shape, row]) => `| ${shape} | ${row.runs} | ${row.seconds} | ${row.failed} |`,
    ),
    "",
    failures.length > 0 ? "## Failed runs\n" : "",
    ...failures,
    "",
  ];
  return lines.join("\n");
}

if (values.summarize !== undefined) {
  process.stdout.write(summarize(values.summarize));
  process.exit(0);
}

const deadline = Date.now() + positive("hours", values.hours) * 3_600_000;
const runSeconds = positive("run-seconds", values["run-seconds"]);
let seed = positive("first-seed", values["first-seed"]);
const nemesisSets = values.nemeses.split(";").filter((set) => set !== "");
const nodeCounts = values.nodes.split(",").filter((n) => n !== "");
const topologies = values.topologies.split(",").filter((t) => t !== "");
const networks = values.networks.split(",").filter((n) => n !== "");
const resultsDir = resolve(values["results-dir"]);
const shapes = networks.flatMap((network) =>
  topologies.flatMap((topology) =>
    nodeCounts.flatMap((nodes) =>
      nemesisSets.map((nemesis) => ({ network, topology, nodes, nemesis })),
    ),
  ),
);

// Ctrl-C or a kill ends the campaign after the summary; the current run's harness stops its
// nodes on the way out.
let current;
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    stopping = true;
    current?.kill("SIGTERM");
  });
}

/** One `sandstore chaos` run; resolves to its last line of output and exit status. */
function runOnce(args) {
  return new Promise((done) => {
    current = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    current.stdout.on("data", (piece) => {
      stdout = (stdout + piece).slice(-65536);
    });
    current.stderr.on("data", (piece) => {
      stderr = (stderr + piece).slice(-65536);
    });
    current.once("exit", (status) => {
      current = undefined;
      done({ verdict: stdout.trim().split("\n").at(-1) ?? "", stderr, status });
    });
  });
}

for (let run = 0; Date.now() < deadline && !stopping; run++, seed++) {
  const { network, topology, nodes, nemesis } = shapes[run % shapes.length];
  const args = [
    "bin/sandstore.js",
    "chaos",
    ...["--topology", topology, "--nodes", nodes, "--time", String(runSeconds)],
    ...["--seed", String(seed), "--nemesis", nemesis, "--results-dir", resultsDir],
    ...["--network", network],
  ];
  const started = Date.now();
  const { verdict, stderr, status } = await runOnce(args);
  const took = ((Date.now() - started) / 1000).toFixed(0);
  console.log(
    `run ${run + 1}: ${topology} ${nodes} nodes ${nemesis} (${network}) seed ${seed}, ${took} s: ${verdict}`,
  );
  if (status !== 0 && !verdict.startsWith("FAIL") && !stopping) {
    console.log(`  the harness itself failed (exit ${status}):\n${stderr}`);
  }
}
const summary = summarize(resultsDir);
writeFileSync(join(resultsDir, "summary.md"), summary);
process.stdout.write(summary);
