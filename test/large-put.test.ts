/**
 * `sandstore put` and `get` of a 1 GiB file stream: neither the client nor the node holds the
 * file in memory (issue 2: both stay under 256 MiB resident).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { peakResidentBytes } from "./helpers/memory.ts";
import { CLI, removeDataDir, startNode } from "./helpers/node-process.ts";

const MiB = 1024 * 1024;
const SIZE = 1024 * MiB;
const LIMIT = 256 * MiB;

/** Writes `size` bytes of varied content (a random block, stamped with its position). */
async function makeFile(path: string, size: number): Promise<void> {
  const block = Buffer.alloc(16 * MiB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
  const file = await open(path, "w");
  for (let offset = 0; offset < size; offset += block.length) {
    block.writeUInt32LE(offset / block.length, 0);
    await file.write(block, 0, Math.min(block.length, size - offset), offset);
  }
  await file.close();
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const piece of createReadStream(path)) hash.update(piece);
  return hash.digest("hex");
}

/** Runs the CLI, sampling its peak memory until it exits; returns the peak and duration. */
async function runMeasured(
  args: string[],
  env: Record<string, string>,
): Promise<{ peak: number; seconds: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += String(chunk);
  });
  let peak = 0;
  const exit = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? -1)));
  let done = false;
  void exit.then(() => {
    done = true;
  });
  while (!done) {
    peak = Math.max(peak, (await peakResidentBytes(child.pid!)) ?? 0);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(await exit, 0, stderr);
  return { peak, seconds: (performance.now() - started) / 1000 };
}

test("put and get of a 1 GiB file stream within 256 MiB of memory on both sides", {
  timeout: 600_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "sandstore-1g-"));
  const node = await startNode();
  try {
    const source = join(dir, "source.bin");
    await makeFile(source, SIZE);
    const env = { SANDSTORE_CLUSTER: node.address };
    const put = await runMeasured(["put", source, "/one-gib.bin"], env);
    const nodeAfterPut = (await peakResidentBytes(node.pid)) ?? 0;
    const target = join(dir, "back.bin");
    const get = await runMeasured(["get", "/one-gib.bin", target], env);
    const nodePeak = (await peakResidentBytes(node.pid)) ?? 0;
    const mib = (bytes: number) => (bytes / MiB).toFixed(0);
    t.diagnostic(
      `put: ${(1024 / put.seconds).toFixed(0)} MiB/s including CLI start, client peak RSS ${mib(put.peak)} MiB`,
    );
    t.diagnostic(
      `get: ${(1024 / get.seconds).toFixed(0)} MiB/s including CLI start, client peak RSS ${mib(get.peak)} MiB`,
    );
    t.diagnostic(
      `node peak RSS: ${mib(nodeAfterPut)} MiB after put, ${mib(nodePeak)} MiB after get`,
    );
    assert.ok(put.peak > 0 && put.peak < LIMIT, `put client peak ${mib(put.peak)} MiB`);
    assert.ok(get.peak > 0 && get.peak < LIMIT, `get client peak ${mib(get.peak)} MiB`);
    assert.ok(nodePeak > 0 && nodePeak < LIMIT, `node peak ${mib(nodePeak)} MiB`);
    assert.equal(await sha256(target), await sha256(source), "the copy out is the file put in");
  } finally {
    await node.stop();
    await removeDataDir(node);
    await rm(dir, { recursive: true, force: true });
  }
});
