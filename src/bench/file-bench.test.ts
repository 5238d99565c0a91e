import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import { mountedFileSystem } from "./bench-file-system.ts";
import { appendCsv, CSV_HEADER, csvField, formatTable } from "./bench-report.ts";
import {
  FILE_PHASES,
  type FileBenchOptions,
  runFileBench,
  validateFileBenchOptions,
} from "./file-bench.ts";

const tempDir = temporaryDirectories("sandstore-file-bench-");

const options: FileBenchOptions = {
  phases: FILE_PHASES,
  concurrency: 3,
  durationS: 0.2,
  blockSize: 4096,
  maxWriteBytes: 3 * 64 * 4096,
  dir: "/bench",
};

test("every phase runs against a directory through node:fs and reports what it did", async () => {
  const root = await tempDir();
  const results = await runFileBench(mountedFileSystem(root), options);
  assert.deepEqual(
    results.map((r) => r.phase),
    [...FILE_PHASES],
  );
  for (const r of results) {
    assert.ok(r.ops > 0, `${r.phase} did something`);
    assert.equal(r.errors, 0, `${r.phase}: ${r.firstError}`);
    assert.ok(r.p50Ms <= r.p95Ms && r.p95Ms <= r.p99Ms && r.p99Ms <= r.maxMs, r.phase);
    assert.equal(r.mibPerSecond > 0, ["write", "read", "smallfile"].includes(r.phase), r.phase);
  }
  // The write phase stops at its share of maxWriteBytes, never past it.
  const written = await readFile(join(root, "bench", "w0"));
  assert.ok(written.length > 0 && written.length <= 64 * 4096);
  const table = formatTable(results);
  assert.match(table, /^phase\s+conc\s+ops\/s/);
  assert.equal(table.split("\n").length, 1 + FILE_PHASES.length);
});

test("readOnce reads each file exactly once; listEntries fills the listed directory first", async () => {
  const root = await tempDir();
  const counted: number[] = [];
  const fs = mountedFileSystem(root);
  const listing = {
    ...fs,
    list: async (path: string) => {
      const n = await fs.list(path);
      counted.push(n);
      return n;
    },
  };
  const [write, read] = await runFileBench(fs, {
    ...options,
    phases: ["write", "read"],
    durationS: 30,
    readOnce: true,
  });
  const [listdir] = await runFileBench(listing, {
    ...options,
    dir: "/bench2",
    phases: ["listdir"],
    listEntries: 250,
  });
  assert.equal(read!.ops, write!.ops, "one read per block written");
  assert.ok(read!.seconds < 30, "it stopped at the end of the files");
  assert.ok(listdir!.ops > 0);
  assert.ok(
    counted.every((n) => n === 250),
    `listed ${[...new Set(counted)].join(", ")} entries`,
  );
});

test("errors are counted with the first one's message, and a phase that only fails stops", async () => {
  const root = await tempDir();
  const fs = mountedFileSystem(root);
  const broken = { ...fs, stat: () => Promise.reject(new Error("stat is broken")) };
  const [stat] = await runFileBench(broken, { ...options, phases: ["stat"], durationS: 30 });
  assert.equal(stat!.ops, 0);
  assert.ok(stat!.errors >= 100);
  assert.equal(stat!.firstError, "stat is broken");
  assert.ok(stat!.seconds < 30, "it gave up instead of failing for the whole duration");
  assert.match(formatTable([stat!]), /stat: first error: stat is broken/);
});

test("options out of bounds are refused, naming what is wrong", () => {
  const refused = (change: Partial<FileBenchOptions>, pattern: RegExp) =>
    assert.throws(() => validateFileBenchOptions({ ...options, ...change }), pattern);
  refused({ phases: ["read", "write"] }, /put write before it/);
  refused({ phases: ["nap" as "read"] }, /unknown phase "nap"/);
  refused({ concurrency: 0 }, /concurrency 0/);
  refused({ blockSize: 0 }, /block size 0/);
  refused({ durationS: 0 }, /duration 0/);
  refused({ dir: "/" }, /bad run directory/);
  refused({ maxWriteBytes: 1 }, /below one block/);
});

test("CSV: a header once, then a row per phase; fields with commas and quotes are quoted", async () => {
  assert.equal(csvField('a,"b"'), '"a,""b"""');
  assert.equal(csvField(12.5), "12.5");
  const path = join(await tempDir(), "results", "files.csv");
  const run = { time: "2026-11-22T00:00:00Z", target: "mount /tmp", label: "x,y" };
  const result = {
    phase: "stat" as const,
    concurrency: 2,
    blockSize: 0,
    seconds: 1,
    ops: 10,
    opsPerSecond: 10,
    mibPerSecond: 0,
    p50Ms: 1,
    p95Ms: 2,
    p99Ms: 3,
    maxMs: 4,
    errors: 1,
    firstError: 'ENOENT: "/x"',
  };
  await appendCsv(path, run, [result]);
  await appendCsv(path, run, [result]);
  const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
  assert.equal(lines.length, 3);
  assert.equal(lines[0], CSV_HEADER);
  assert.equal(
    lines[1],
    '2026-11-22T00:00:00Z,mount /tmp,"x,y",stat,2,0,1.000,10,10.0,0.00,1.000,2.000,3.000,4.000,1,"ENOENT: ""/x"""',
  );
});
