/**
 * The hyperconverged topology as three real node processes: election, replicated writes and
 * reads through any node, leader failover, and a full restart.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { connect, O_CREAT, O_RDONLY, O_WRONLY, type SandstoreClient } from "../src/index.ts";
import { freePorts } from "./helpers/kv-cluster.ts";
import { CLI, runCli, waitFor } from "./helpers/node-process.ts";

const MiB = 1024 * 1024;

class Cluster {
  root = "";
  addresses: string[] = [];
  private readonly children = new Map<number, ChildProcess>();
  private readonly token = randomBytes(8).toString("hex");

  async start(): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), "sandstore-hc-"));
    this.addresses = (await freePorts(3)).map((p) => `127.0.0.1:${p}`);
    await Promise.all([0, 1, 2].map((i) => this.startNode(i)));
  }

  async startNode(i: number): Promise<void> {
    const peers = this.addresses.map((a, j) => `n${j + 1}=${a}`).join(",");
    const child = spawn(
      process.execPath,
      [
        CLI,
        "node",
        "--topology",
        "hyperconverged",
        "--id",
        `n${i + 1}`,
        "--listen",
        this.addresses[i]!,
        "--data-dir",
        join(this.root, `n${i + 1}`),
        "--peers",
        peers,
        "--quiet",
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, SANDSTORE_CLUSTER_TOKEN: this.token },
      },
    );
    let stderr = "";
    child.stderr!.on("data", (c) => {
      stderr += String(c);
    });
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on(
        "line",
        (line) => line.includes("listening on") && resolve(),
      );
      child.once("exit", (code) => reject(new Error(`node ${i} exited ${code}: ${stderr}`)));
    });
    this.children.set(i, child);
  }

  async kill(i: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.children.get(i);
    this.children.delete(i);
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill(signal);
    });
  }

  /** The index of the node every running node names as leader, once they agree. */
  async leader(timeoutMs = 10_000): Promise<number> {
    let agreed = -1;
    await waitFor(
      async () => {
        const named = new Set<string>();
        for (const i of this.children.keys()) {
          const client = connect(this.addresses[i]!, { retryForMs: 200, callTimeoutMs: 1000 });
          named.add((await client.status().catch(() => undefined))?.leaderId ?? "");
          await client.closeClient();
        }
        const [only] = [...named];
        agreed = named.size === 1 && only ? Number(only.slice(1)) - 1 : -1;
        return agreed >= 0 && this.children.has(agreed);
      },
      "every node to name the same leader",
      timeoutMs,
    );
    return agreed;
  }

  async close(): Promise<void> {
    for (const i of [...this.children.keys()]) await this.kill(i, "SIGTERM");
    await rm(this.root, { recursive: true, force: true });
  }
}

async function writeFile(client: SandstoreClient, path: string, data: Buffer): Promise<void> {
  const fd = await client.open(path, O_CREAT | O_WRONLY);
  await client.write(fd, data);
  await client.close(fd);
}

async function readFile(client: SandstoreClient, path: string): Promise<Buffer> {
  const fd = await client.open(path, O_RDONLY);
  const { size } = await client.stat(path);
  const bytes = await client.pread(fd, size, 0);
  await client.close(fd);
  return bytes;
}

describe("hyperconverged: three node processes", () => {
  const cluster = new Cluster();
  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.close();
  });

  test("a leader is elected within 2 s and every node names it", async () => {
    const started = Date.now();
    const leader = await cluster.leader(2000);
    assert.ok(Date.now() - started <= 2000);
    const status = JSON.parse(
      (
        await runCli(["status", "--json", "--cluster", cluster.addresses[(leader + 1) % 3]!])
      ).stdout.toString(),
    );
    assert.equal(status.leaderId, `n${leader + 1}`);
    assert.equal(status.nodes.length, 3);
    assert.ok(
      status.nodes.every((n: { live: boolean }) => n.live),
      "every member reports itself",
    );
    assert.equal(status.nodes.filter((n: { role: string }) => n.role === "leader").length, 1);
  });

  test("a file written through a follower reads back through every node, each chunk on 3 disks", async () => {
    const leader = await cluster.leader();
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    const data = randomBytes(20 * MiB + 77);
    const writer = connect(cluster.addresses[follower]!);
    await writeFile(writer, "/replicated.bin", data);
    await writer.closeClient();
    for (const address of cluster.addresses) {
      const reader = connect(address);
      assert.deepEqual(await readFile(reader, "/replicated.bin"), data, `read through ${address}`);
      await reader.closeClient();
    }
    for (const n of ["n1", "n2", "n3"]) {
      const chunkDir = join(cluster.root, n, "chunks");
      const prefixes = (await readdir(chunkDir)).filter((p) => p !== "tmp");
      let count = 0;
      for (const p of prefixes) count += (await readdir(join(chunkDir, p))).length;
      assert.equal(count, 3, `${n} holds a copy of each of the 3 chunks`);
    }
  });

  test("after kill -9 of the leader, acknowledged files are intact and writes resume within 2 s", async () => {
    const leader = await cluster.leader();
    const before = randomBytes(3 * MiB);
    const seeds = cluster.addresses;
    const client = connect(seeds.filter((_, i) => i !== leader));
    await writeFile(client, "/before-failover", before);
    await cluster.kill(leader);
    const killedAt = Date.now();
    const survivor = cluster.addresses[(leader + 1) % 3]!;
    let resumedAt = 0;
    await waitFor(
      async () => {
        try {
          await client.mkdir(`/after-${Date.now()}`);
          resumedAt = Date.now();
          return true;
        } catch {
          return false;
        }
      },
      "a write to succeed after the leader was killed",
      10_000,
    );
    assert.ok(resumedAt - killedAt < 2000, `writes resumed after ${resumedAt - killedAt} ms`);
    assert.deepEqual(await readFile(client, "/before-failover"), before);
    const status = JSON.parse(
      (await runCli(["status", "--json", "--cluster", survivor])).stdout.toString(),
    );
    const dead = status.nodes.find((n: { id: string }) => n.id === `n${leader + 1}`);
    assert.equal(dead.role, "unreachable", "status names the node that does not answer");
    await writeFile(client, "/during-outage", Buffer.from("written with one node down"));
    await cluster.startNode(leader);
    await client.closeClient();
  });

  test("a full restart keeps every file", async () => {
    for (const i of [0, 1, 2]) await cluster.kill(i, "SIGTERM");
    for (const i of [0, 1, 2]) await cluster.startNode(i);
    await cluster.leader();
    const client = connect(cluster.addresses);
    assert.equal(
      (await readFile(client, "/during-outage")).toString(),
      "written with one node down",
    );
    assert.equal((await client.stat("/replicated.bin")).size, 20 * MiB + 77);
    await client.closeClient();
  });
});
