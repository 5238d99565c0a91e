/**
 * A full disk is an error, never an outage (issue 14), on each file topology with every
 * node's data directory on its own small tmpfs: writes fill it until they are refused with
 * ENOSPC (status raises the alarm), reads go on, deletes are taken and make room, writes work
 * again; then, killed with -9 and the disk filled to the last byte by something else, the
 * node still starts, serves reads and takes deletes. Needs root, to mount the file systems.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { connect, type SandstoreClient, SandstoreError } from "../src/index.ts";
import { Cluster, readFile, writeFile } from "./helpers/hyperconverged-cluster.ts";
import { type NodeProcess, startNode, waitFor } from "./helpers/node-process.ts";
import { code } from "./helpers/outcome.ts";

const MiB = 1024 * 1024;
/** Each node's file system. */
const DISK = "48m";
const NODE_FLAGS = [
  ...["--chunk-size", String(MiB), "--disk-reserve-bytes", String(4 * MiB)],
  // Deleted files' chunks are collected within a second, so room comes back quickly.
  ...["--gc-grace-ms", "1000", "--gc-interval-ms", "500"],
];

function mountTmpfs(dir: string): void {
  const run = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${DISK}`, "tmpfs", dir]);
  if (run.status !== 0) throw new Error(`mount tmpfs on ${dir}: ${run.stderr.toString()}`);
}

function unmount(dir: string): void {
  spawnSync("umount", [dir]);
}

/** Whether this machine lets the test mount file systems (root, with mount). */
async function canMount(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const probe = await mkdtemp(join(tmpdir(), "sandstore-mount-probe-"));
  try {
    mountTmpfs(probe);
    unmount(probe);
    return true;
  } catch {
    return false;
  } finally {
    await rm(probe, { recursive: true, force: true });
  }
}

/** Writes into `dir` until the file system refuses a byte more; returns the file's path. */
async function fillUp(dir: string): Promise<string> {
  const path = join(dir, "filler");
  const handle = await open(path, "w");
  const piece = Buffer.alloc(256 * 1024);
  try {
    for (;;) await handle.write(piece);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    await handle.close();
  }
  return path;
}

/** What the scenario needs of a topology. */
interface Target {
  client: () => SandstoreClient;
  dataDirs: string[];
  killAll(): Promise<void>;
  startAll(): Promise<void>;
}

async function scenario(target: Target): Promise<void> {
  const files = new Map<string, Buffer>();
  let client = target.client();
  // Fill: 2 MiB files until one is refused.
  let refusal: SandstoreError | undefined;
  for (let i = 0; i < 40 && !refusal; i++) {
    const data = randomBytes(2 * MiB);
    try {
      await writeFile(client, `/f${i}`, data);
      files.set(`/f${i}`, data);
    } catch (error) {
      if (!(error instanceof SandstoreError)) throw error;
      refusal = error;
    }
  }
  assert.ok(refusal, "a full disk refuses a write");
  assert.equal(refusal.code, "ENOSPC", refusal.message);
  assert.match(refusal.message, /no space left on device/);
  assert.ok(files.size >= 5, `${files.size} files fit`);
  const status = await client.status();
  assert.ok(
    status.nodes.some((n) => n.diskAlarm),
    "status raises the alarm",
  );

  // Reads go on; deletes are taken; room comes back.
  const [first] = files.keys();
  assert.ok(first);
  assert.deepEqual(await readFile(client, first), files.get(first));
  for (const path of [...files.keys()].slice(0, 4)) {
    await client.unlink(path);
    files.delete(path);
  }
  const again = randomBytes(2 * MiB);
  await waitFor(
    async () => (await code(writeFile(client, "/again", again))) === "ok",
    "a write after deletes made room",
    30_000,
  );
  files.set("/again", again);

  // kill -9, the disk filled to the last byte meanwhile: the node still starts.
  await client.closeClient();
  await target.killAll();
  const fillers = await Promise.all(target.dataDirs.map(fillUp));
  await target.startAll();
  client = target.client();
  for (const [path, data] of files) assert.deepEqual(await readFile(client, path), data, path);
  // Whatever room the start found (the reserve, if it was held; the cleared temporary
  // directory), the node answers: it reads, and it takes a delete.
  assert.ok((await client.status()).nodes.length > 0, "the node answers");
  const [victim] = files.keys();
  assert.ok(victim);
  assert.equal(await code(client.unlink(victim)), "ok", "a delete on a full disk");
  files.delete(victim);
  for (const filler of fillers) await rm(filler);
  await waitFor(
    async () => (await code(writeFile(client, "/after", randomBytes(MiB)))) === "ok",
    "a write once the disk has room again",
    30_000,
  );
  await client.closeClient();
}

describe("a full disk", async () => {
  const mountable = await canMount();

  test("single: fill, refuse, read, delete, write again, kill -9 on a full disk, restart", {
    skip: mountable ? false : "needs root to mount a tmpfs",
    timeout: 180_000,
  }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "sandstore-full-single-"));
    mountTmpfs(dataDir);
    let node: NodeProcess | undefined;
    const start = async () => {
      node = await startNode({ dataDir, args: NODE_FLAGS });
    };
    try {
      await start();
      await scenario({
        client: () => connect(node?.address ?? "", { retryForMs: 5000 }),
        dataDirs: [dataDir],
        killAll: async () => node?.kill(),
        startAll: start,
      });
    } finally {
      await node?.stop();
      unmount(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test("hyperconverged: the same, on three nodes each with its own full disk", {
    skip: mountable ? false : "needs root to mount a tmpfs",
    timeout: 240_000,
  }, async () => {
    const cluster = new Cluster({
      nodeArgs: NODE_FLAGS,
      prepareDataDir: async (dir) => {
        await mkdir(dir, { recursive: true });
        mountTmpfs(dir);
      },
      releaseDataDir: async (dir) => unmount(dir),
    });
    await cluster.start();
    try {
      await cluster.leader();
      await scenario({
        client: () => connect(cluster.addresses, { retryForMs: 10_000 }),
        dataDirs: cluster.indexes.map((i) => cluster.dataDir(i)),
        killAll: async () => {
          for (const i of cluster.indexes) await cluster.kill(i);
        },
        startAll: async () => {
          await Promise.all(cluster.indexes.map((i) => cluster.startNode(i)));
          await cluster.leader(20_000);
        },
      });
    } finally {
      await cluster.close();
    }
  });
});
