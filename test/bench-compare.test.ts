/**
 * A smoke run of `npm run bench:compare` with tiny sizes: every system produces a figure for
 * every workload it runs. Numbers are never asserted. Needs root, fio, etcd and MooseFS (CI
 * installs them); skipped, saying why, without them.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { test } from "node:test";
import type { CompareRow } from "../bench/compare/compare-table.ts";
import { mooseFsAvailable } from "../bench/compare/moosefs-cluster.ts";
import { commandInstalled } from "../src/common/command-installed.ts";
import { temporaryDirectories } from "./helpers/temp-dirs.ts";

const tempDir = temporaryDirectories("sandstore-bench-compare-");
const RUN = resolve(import.meta.dirname, "../bench/compare/run.ts");

test("bench:compare --smoke: every system produces a figure", { timeout: 600_000 }, async (t) => {
  const missing = [];
  if (!(await mooseFsAvailable()))
    missing.push(
      "root, network namespaces, /dev/fuse, moosefs-master, moosefs-chunkserver, moosefs-client",
    );
  for (const command of ["fio", "etcd"])
    if (!(await commandInstalled(command))) missing.push(command);
  if (missing.length > 0) {
    t.skip(`needs ${missing.join(", ")}`);
    return;
  }
  const out = await tempDir();
  const code = await new Promise<number | null>((done) => {
    const child = spawn(process.execPath, ["--import", "tsx", RUN, "--smoke", "--out", out], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    child.once("exit", done);
  });
  assert.equal(code, 0);
  const result = JSON.parse(await readFile(join(out, "benchmarks.json"), "utf8")) as {
    rows: CompareRow[];
    mountRows: CompareRow[];
    skipped: string[];
    limits: unknown;
  };
  assert.deepEqual(result.skipped, []);
  assert.ok(result.limits, "fio measured the limits");
  for (const row of result.rows) {
    assert.ok((row.figures.sandstore ?? 0) > 0, `${row.workload}: Sandstore`);
    assert.ok((row.figures[row.peer!] ?? 0) > 0, `${row.workload}: ${row.peer}`);
    if (row.peer === "moosefs") {
      assert.ok((row.figures.single ?? 0) > 0, `${row.workload}: single`);
      assert.ok((row.figures.disaggregated ?? 0) > 0, `${row.workload}: disaggregated`);
    }
  }
  assert.equal(result.mountRows.length, 6, "six programs, mount beside mount");
  for (const row of result.mountRows) {
    assert.ok((row.figures.sandstore ?? 0) > 0, `${row.workload}: Sandstore's mount`);
    assert.ok((row.figures.moosefs ?? 0) > 0, `${row.workload}: MooseFS's mount`);
  }
  const page = await readFile(join(out, "benchmarks.md"), "utf8");
  assert.match(page, /\| workload \| unit \|/);
  assert.match(page, /## Mount beside mount/);
  assert.match(await readFile(join(out, "benchmarks.svg"), "utf8"), /^<svg /);
});
