/**
 * `sandstore bench files` end to end: against a single node and against a directory (a
 * mount), with CSV and JSON output; bad flags are usage errors that name the flag.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { CSV_HEADER } from "../src/bench/bench-report.ts";
import { FILE_PHASES } from "../src/bench/file-bench.ts";
import { removeDataDir, runCli, startNode } from "./helpers/node-process.ts";
import { temporaryDirectories } from "./helpers/temp-dirs.ts";

const tempDir = temporaryDirectories("sandstore-bench-files-");
const quick = ["--duration", "1", "--concurrency", "2", "--block-size", "64k"];

test("bench files against a node: every phase reports, the CSV gets a row each, nothing is left", async () => {
  const node = await startNode();
  try {
    const csv = join(await tempDir(), "files.csv");
    const run = await runCli([
      "bench",
      "files",
      "--cluster",
      node.address,
      ...quick,
      "--csv",
      csv,
      "--json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout.toString()) as {
      results: Array<{ phase: string; ops: number; errors: number }>;
    };
    assert.deepEqual(
      report.results.map((r) => r.phase),
      [...FILE_PHASES],
    );
    for (const r of report.results) assert.ok(r.ops > 0 && r.errors === 0, JSON.stringify(r));
    const lines = (await readFile(csv, "utf8")).trimEnd().split("\n");
    assert.equal(lines[0], CSV_HEADER);
    assert.equal(lines.length, 1 + FILE_PHASES.length);
    const ls = await runCli(["ls", "/", "--cluster", node.address]);
    assert.equal(ls.stdout.toString().trim(), "", "the run's directory is removed");
  } finally {
    await node.stop();
    await removeDataDir(node);
  }
});

test("bench files against a mount keeps its files with --keep and prints a table", async () => {
  const mount = await tempDir();
  const run = await runCli([
    "bench",
    "files",
    "--mount",
    mount,
    ...quick,
    "--no-csv",
    "--keep",
    "--dir",
    "/run1",
    "--phases",
    "write,read",
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout.toString(), /^phase\s+conc/);
  assert.deepEqual((await readdir(join(mount, "run1"))).sort(), ["files", "small", "w0", "w1"]);
});

test("bench files refuses bad flags with exit 2, naming them", async () => {
  for (const [args, pattern] of [
    [["--block-size", "lots"], /block-size.*expected a size/],
    [["--phases", "write,nap"], /unknown phase "nap"/],
    [["--phases", "read,write"], /put write before it/],
  ] as const) {
    const run = await runCli(["bench", "files", "--mount", "/nonexistent", ...args]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, pattern);
  }
});
