/**
 * The hyperconverged topology under faults, as real node processes: racing writers of one
 * slot, a corrupted replica, a follower that catches up by snapshot, a node down and repair,
 * a partitioned old leader, the leader killed during a stream of operations, and a node lost
 * for good.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  readdir,
  readFile as readFileOnDisk,
  writeFile as writeFileOnDisk,
} from "node:fs/promises";
import { basename, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect, O_WRONLY, SandstoreError } from "../src/index.ts";
import { GrpcTransport } from "../src/transport/grpc-transport.ts";
import { Cluster, readFile, writeFile } from "./helpers/hyperconverged-cluster.ts";
import { runCli, waitFor } from "./helpers/node-process.ts";

const CHUNK = 64 * 1024;

/** Chunk ids (file names) on node `i`'s disk. */
async function chunkIds(cluster: Cluster, i: number): Promise<Set<string>> {
  return new Set((await cluster.chunkFiles(i)).map((file) => basename(file)));
}

/** Snapshot indexes in node `i`'s Raft snapshot directory. */
async function snapshotIndexes(cluster: Cluster, i: number): Promise<number[]> {
  const names = await readdir(join(cluster.root, `n${i + 1}`, "raft", "snap")).catch(() => []);
  return names.filter((n) => n.endsWith(".snap")).map((n) => Number.parseInt(n.split("-")[0]!, 16));
}

describe("hyperconverged under faults: three node processes", () => {
  const cluster = new Cluster({
    nodeArgs: [
      "--chunk-size",
      String(CHUNK),
      "--snapshot-entries",
      "200",
      "--repair-interval-ms",
      "300",
    ],
  });
  before(async () => {
    await cluster.start();
    await cluster.leader();
  });
  after(async () => {
    await cluster.close();
  });

  test("two clients writing the same chunk slots concurrently: each slot holds one writer's bytes", async () => {
    const a = connect(cluster.addresses[0]!);
    const b = connect(cluster.addresses[1]!);
    await writeFile(a, "/race", Buffer.alloc(3 * CHUNK));
    const overwrite = async (client: typeof a, fill: number) => {
      const fd = await client.open("/race", O_WRONLY);
      await client.pwrite(fd, Buffer.alloc(3 * CHUNK, fill), 0);
      await client.close(fd);
    };
    for (let round = 0; round < 8; round++) {
      await Promise.all([overwrite(a, 0x61), overwrite(b, 0x62)]);
      const bytes = await readFile(a, "/race");
      assert.equal(bytes.length, 3 * CHUNK);
      for (let slot = 0; slot < 3; slot++) {
        const piece = bytes.subarray(slot * CHUNK, (slot + 1) * CHUNK);
        const first = piece[0]!;
        assert.ok(first === 0x61 || first === 0x62, `round ${round} slot ${slot}: a writer's byte`);
        assert.ok(
          piece.every((byte) => byte === first),
          `round ${round} slot ${slot}: one writer's bytes, never a mix`,
        );
      }
    }
    await a.closeClient();
    await b.closeClient();
  });

  test("a chunk copy corrupted on one replica: reads return the right bytes and the copy is repaired", async () => {
    const client = connect(cluster.addresses);
    // Each damaged copy is rewritten once, by whichever meets it first: a read (read repair),
    // or the leader's repairer, handed it by the scrub or by a repair pass that probes it (a
    // pass whose listing predates the write probes the new chunks, and finds the damage).
    const handled = async () => {
      const counts = await Promise.all(
        cluster.addresses.map(async (address) => {
          const node = connect(address);
          const reply = await node.status();
          await node.closeClient();
          const m = reply.nodes[0]?.maintenance;
          return (m?.readRepairsTotal ?? 0) + (m?.repairedTotal ?? 0);
        }),
      );
      return counts.reduce((sum, n) => sum + n, 0);
    };
    const handledBefore = await handled();
    const before = await chunkIds(cluster, 0);
    const data = randomBytes(2 * CHUNK);
    await writeFile(client, "/corrupt", data);
    const fresh = (await cluster.chunkFiles(0)).filter((file) => !before.has(basename(file)));
    assert.equal(fresh.length, 2, "n1 holds a copy of each of the 2 new chunks");
    const originals = new Map<string, Buffer>();
    for (const file of fresh) {
      const bytes = await readFileOnDisk(file);
      originals.set(file, Buffer.from(bytes));
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
      await writeFileOnDisk(file, bytes);
    }
    // A read tries the serving node's own copy first: one that reaches n1 meets the damage.
    const throughN1 = connect(cluster.addresses[0]!);
    assert.deepEqual(await readFile(throughN1, "/corrupt"), data);
    await throughN1.closeClient();
    await waitFor(
      async () => {
        for (const [file, original] of originals) {
          const now = await readFileOnDisk(file).catch(() => Buffer.alloc(0));
          if (now.length !== original.length || now.at(-1) !== original.at(-1)) return false;
        }
        return true;
      },
      "the damaged copies on n1 to be rewritten",
      10_000,
    );
    assert.deepEqual(await readFile(client, "/corrupt"), data);
    const status = await client.status();
    // The counters move when the rewrite's answer arrives, a moment after the file changed.
    await waitFor(
      async () => (await handled()) - handledBefore >= 2,
      "both damaged copies to be counted as rewritten by read repair or the repairer",
      10_000,
    );
    assert.ok(status.leaderId);
    await client.closeClient();
  });

  test("a follower stopped while 2,000 files are created catches up by snapshot; its state hash equals the leader's", async () => {
    const leader = await cluster.leader();
    const follower = (leader + 1) % 3;
    const followerClient = connect(cluster.addresses[follower]!);
    const appliedAtStop = (await followerClient.status()).nodes[0]!.appliedIndex;
    await followerClient.closeClient();
    await cluster.kill(follower);
    const client = connect(cluster.addresses.filter((_, i) => i !== follower));
    await client.mkdir("/many");
    const names = Array.from({ length: 2000 }, (_, i) => `/many/f${i}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map(async (name) => {
          const fd = await client.open(name, 0o100 | O_WRONLY);
          await client.close(fd);
        }),
      );
    }
    // The leader's log no longer holds what the follower lacks: only a snapshot can bring it back.
    await waitFor(
      async () => Math.max(0, ...(await snapshotIndexes(cluster, leader))) > appliedAtStop + 1000,
      "the leader to snapshot past the stopped follower's position",
      10_000,
    );
    await cluster.startNode(follower);
    const leaderNode = connect(cluster.addresses[leader]!, { retryForMs: 1000 });
    const followerNode = connect(cluster.addresses[follower]!, { retryForMs: 1000 });
    let hashes: string[] = [];
    await waitFor(
      async () => {
        const [l, f] = await Promise.all([
          leaderNode.status({ stateHash: true }),
          followerNode.status({ stateHash: true }),
        ]);
        hashes = [l.nodes[0]!.stateHash, f.nodes[0]!.stateHash];
        return l.nodes[0]!.appliedIndex === f.nodes[0]!.appliedIndex && hashes[0] === hashes[1];
      },
      "the follower to reach the leader's applied index with the same state hash",
      30_000,
    );
    assert.match(hashes[0]!, /^[0-9a-f]{64}$/);
    assert.equal((await followerNode.readdir("/many")).length, 2000);
    await Promise.all([leaderNode.closeClient(), followerNode.closeClient(), client.closeClient()]);
  });

  test("one node down: writes succeed at W=2; when it returns, repair brings every chunk to 3 copies", async () => {
    const leader = await cluster.leader();
    const down = (leader + 2) % 3;
    await cluster.kill(down);
    const client = connect(cluster.addresses.filter((_, i) => i !== down));
    const before = await chunkIds(cluster, leader);
    const files = Array.from(
      { length: 5 },
      (_, i) => [`/degraded-${i}`, randomBytes(3 * CHUNK)] as const,
    );
    for (const [path, data] of files) await writeFile(client, path, data);
    const written = [...(await chunkIds(cluster, leader))].filter((id) => !before.has(id));
    assert.equal(written.length, 15, "every chunk of the 5 files is on the leader");
    await cluster.startNode(down);
    await waitFor(
      async () => {
        const held = await chunkIds(cluster, down);
        return written.every((id) => held.has(id));
      },
      "repair to copy every chunk written during the outage to the returned node",
      30_000,
    );
    const leaderAddress = cluster.addresses[leader]!;
    await waitFor(
      async () => {
        const result = await runCli(["status", "--json", "--cluster", leaderAddress]);
        const status = JSON.parse(result.stdout.toString());
        const row = status.nodes.find((n: { role: string }) => n.role === "leader");
        const m = row?.maintenance;
        return Boolean(
          m?.active && m.repairPending === 0 && m.underReplicated === 0 && m.repairedTotal >= 15,
        );
      },
      "status to show repair finished: a pass with nothing short of copies",
      30_000,
    );
    const human = await runCli(["status", "--cluster", leaderAddress]);
    assert.match(
      human.stdout.toString(),
      /maintenance on n\d: repair last pass found 0 slots short/,
    );
    for (const [path, data] of files) assert.deepEqual(await readFile(client, path), data);
    await client.closeClient();
  });

  test("a partitioned old leader serves no reads and acknowledges no writes", async () => {
    const leader = await cluster.leader();
    await cluster.isolate(leader);
    // Once the others have a new leader, the cut is in force.
    await waitFor(
      async () => {
        for (const i of cluster.indexes.filter((j) => j !== leader)) {
          const node = connect(cluster.addresses[i]!, { retryForMs: 0, callTimeoutMs: 1000 });
          const named = await node.status().then(
            (s) => s.leaderId,
            () => "",
          );
          await node.closeClient();
          if (!named || named === `n${leader + 1}`) return false;
        }
        return true;
      },
      "the majority to elect a new leader",
      10_000,
    );
    const transport = new GrpcTransport();
    const isolated = transport.connect(cluster.addresses[leader]!, { callTimeoutMs: 4000 });
    try {
      await assert.rejects(
        isolated.stat({ path: "/", access: 0 }),
        "a read through the isolated leader fails",
      );
      await assert.rejects(
        isolated.create({
          path: "/from-the-minority",
          mode: 0o644,
          exclusive: true,
          truncate: false,
          access: 0,
        }),
        "a write through the isolated leader is not acknowledged",
      );
      const majority = connect(cluster.addresses.filter((_, i) => i !== leader));
      await majority.mkdir("/from-the-majority");
      await cluster.heal();
      await cluster.leader(20_000);
      await assert.rejects(
        majority.stat("/from-the-minority"),
        (e: SandstoreError) => e.code === "ENOENT",
      );
      assert.ok((await majority.stat("/from-the-majority")).isDirectory());
      await majority.closeClient();
    } finally {
      isolated.close();
      await cluster.heal();
    }
  });

  test("leader kill -9 during a stream of creates and writes: every acknowledged one is there, whole", async () => {
    const leader = await cluster.leader();
    const client = connect(cluster.addresses);
    await client.mkdir("/stream");
    const acknowledged: Array<{ path: string; data: Buffer; at: number }> = [];
    const failed: Array<{ path: string; data: Buffer }> = [];
    let killedAt = 0;
    for (let i = 0; acknowledged.filter((op) => killedAt && op.at > killedAt).length < 20; i++) {
      if (i === 20) {
        await cluster.kill(leader);
        killedAt = Date.now();
      }
      const path = `/stream/f${i}`;
      const data = randomBytes(CHUNK + i);
      try {
        await writeFile(client, path, data);
        acknowledged.push({ path, data, at: Date.now() });
      } catch (error) {
        assert.ok(error instanceof SandstoreError, String(error));
        failed.push({ path, data });
      }
      assert.ok(i < 500, "the stream makes progress");
    }
    const firstAfter = acknowledged.find((op) => op.at > killedAt)!;
    assert.ok(
      firstAfter.at - killedAt < 2000,
      `writes resumed ${firstAfter.at - killedAt} ms after the kill`,
    );
    for (const op of acknowledged)
      assert.deepEqual(await readFile(client, op.path), op.data, op.path);
    for (const op of failed) {
      const got = await readFile(client, op.path).catch(() => undefined);
      assert.ok(
        got === undefined || got.length === 0 || got.equals(op.data),
        `${op.path}: an interrupted write is all or nothing`,
      );
    }
    await cluster.startNode(leader);
    await client.closeClient();
  });
});

describe("the scrub: three node processes", () => {
  const cluster = new Cluster({
    nodeArgs: ["--chunk-size", String(CHUNK), "--scrub-interval-ms", "200"],
  });
  before(async () => {
    await cluster.start();
    await cluster.leader();
  });
  after(async () => {
    await cluster.close();
  });

  test("copies damaged where they lie are found and rewritten with no read touching them", async () => {
    const client = connect(cluster.addresses);
    const data = randomBytes(2 * CHUNK);
    await writeFile(client, "/rot", data);
    const damaged: Array<{ file: string; original: Buffer }> = [];
    for (const i of [1, 2]) {
      const [file] = await cluster.chunkFiles(i);
      assert.ok(file, `n${i + 1} holds a copy`);
      const bytes = await readFileOnDisk(file);
      damaged.push({ file, original: Buffer.from(bytes) });
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
      await writeFileOnDisk(file, bytes);
    }
    let leaderAddress = "";
    await waitFor(
      async () => {
        leaderAddress = cluster.addresses[await cluster.leader()]!;
        const result = await runCli(["status", "--json", "--cluster", leaderAddress]);
        const row = JSON.parse(result.stdout.toString()).nodes.find(
          (n: { role: string }) => n.role === "leader",
        );
        if ((row?.maintenance?.scrubDamagedTotal ?? 0) < 2) return false;
        for (const { file, original } of damaged) {
          const now = await readFileOnDisk(file).catch(() => Buffer.alloc(0));
          if (!now.equals(original)) return false;
        }
        return true;
      },
      "the scrub to find both damaged copies and repair to rewrite them",
      20_000,
    );
    const human = await runCli(["status", "--cluster", leaderAddress]);
    assert.match(
      human.stdout.toString(),
      /scrub on n\d: \d+ copies .* verified in \d+ passes, 2 damaged found/,
    );
    const readRepairs = await Promise.all(
      cluster.addresses.map(async (address) => {
        const node = connect(address);
        const reply = await node.status();
        await node.closeClient();
        return reply.nodes[0]?.maintenance?.readRepairsTotal ?? 0;
      }),
    );
    assert.deepEqual(readRepairs, [0, 0, 0], "no read met the damage");
    assert.deepEqual(await readFile(client, "/rot"), data);
    await client.closeClient();
  });
});

describe("hyperconverged: a node lost for good, four node processes", () => {
  const cluster = new Cluster({
    size: 4,
    nodeArgs: [
      "--chunk-size",
      String(CHUNK),
      "--placement",
      "rendezvous",
      "--repair-interval-ms",
      "500",
      "--repair-lost-after-ms",
      "2000",
    ],
  });
  before(async () => {
    await cluster.start();
    await cluster.leader();
  });
  after(async () => {
    await cluster.close();
  });

  test("its copies are made again on the nodes left, and every file reads back", async () => {
    const client = connect(cluster.addresses);
    const files = Array.from({ length: 4 }, (_, i) => ({
      path: `/kept-${i}`,
      data: randomBytes(4 * CHUNK + i),
    }));
    for (const file of files) await writeFile(client, file.path, file.data);
    const leader = await cluster.leader();
    // The node lost is not the leader, so the group keeps its leader and three voters of four.
    const lost = [0, 1, 2, 3].find((i) => i !== leader)!;
    const held = await chunkIds(cluster, lost);
    assert.ok(held.size > 0, `n${lost + 1} held copies to lose`);
    await cluster.kill(lost);
    const left = [0, 1, 2, 3].filter((i) => i !== lost);
    await waitFor(
      async () => {
        for (const i of left) {
          const ids = await chunkIds(cluster, i);
          for (const id of held) if (!ids.has(id)) return false;
        }
        return true;
      },
      `every chunk n${lost + 1} held to be copied to each of the three nodes left`,
      60_000,
    );
    for (const file of files) assert.deepEqual(await readFile(client, file.path), file.data);
    await client.closeClient();
  });
});
