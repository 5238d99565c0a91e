/**
 * The hyperconverged topology as three real node processes: election, replicated writes and
 * reads through any node, leader failover, and a full restart.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { connect } from "../src/index.ts";
import { Cluster, readFile, writeFile } from "./helpers/hyperconverged-cluster.ts";
import { runCli, waitFor } from "./helpers/node-process.ts";

const MiB = 1024 * 1024;

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
    for (const i of cluster.indexes) {
      assert.equal((await cluster.chunkFiles(i)).length, 3, `n${i + 1} holds a copy of each chunk`);
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
