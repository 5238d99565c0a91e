/**
 * A brand-new id joins the metadata group of a running cluster: a hyperconverged node started
 * with `--join` beside three nodes that were never told of it, added with
 * `sandstore member add ID --address`, learner first, then voter. The group then has four
 * voters, survives its leader's death with the new member voting, and places chunks on it.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { connect, type SandstoreClient } from "../src/index.ts";
import { Cluster, readFile, writeFile } from "./helpers/hyperconverged-cluster.ts";
import { runCli, waitFor } from "./helpers/node-process.ts";

describe("member add of an id no node's --peers names", () => {
  const cluster = new Cluster({ size: 4 });
  let client: SandstoreClient;
  /** The first three nodes, as each of them is told of the group: n4 is not in it. */
  const three = () => cluster.addresses.slice(0, 3).map((a, i) => `n${i + 1}=${a}`);
  before(async () => {
    // The harness names every node of the cluster in --peers: n1..n3 get theirs by hand.
    await cluster.start([]);
    await Promise.all([0, 1, 2].map((i) => cluster.startNode(i, ["--peers", three().join(",")])));
    await cluster.leader();
    client = connect(cluster.addresses.slice(0, 3));
  });
  after(async () => {
    await client?.closeClient();
    await cluster.close();
  });
  const nodes = () => cluster.addresses.join(",");
  const member = (...args: string[]) =>
    runCli(["member", ...args, "--nodes", nodes()], { SANDSTORE_CLUSTER_TOKEN: cluster.token });

  test("a node started with --join waits, is added with its address, catches up and votes", async () => {
    const before = randomBytes(300_000);
    await writeFile(client, "/before.bin", before);
    const three = cluster.addresses.slice(0, 3).map((a, i) => `n${i + 1}=${a}`);
    // n4 knows the group; the group does not know n4.
    await cluster.startNode(3, [
      "--peers",
      [...three, `n4=${cluster.addresses[3]}`].join(","),
      "--join",
    ]);
    const unknown = await member("add", "n4");
    assert.equal(unknown.code, 1, `${unknown.stdout} ${unknown.stderr}`);
    assert.match(unknown.stderr, /n4 is not a configured peer .* give --address HOST:PORT/);
    const added = await member("add", "n4", "--address", cluster.addresses[3] ?? "");
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout.toString(), /added n4 as a voter/);
    const list = await member("list");
    assert.match(list.stdout.toString(), /voters: n1 n2 n3 n4; learners: none/);
    // Its store caught up: it answers a read of what was written before it joined.
    const viaN4 = connect([cluster.addresses[3] ?? ""]);
    try {
      assert.deepEqual(await readFile(viaN4, "/before.bin"), before);
    } finally {
      await viaN4.closeClient();
    }
    // With four voters, the group needs three: the old leader killed, n4's vote counts.
    const leader = await cluster.leader();
    await cluster.kill(leader);
    const after = randomBytes(200_000);
    await writeFile(client, "/after.bin", after);
    assert.deepEqual(await readFile(client, "/after.bin"), after);
    await waitFor(
      async () => (await member("list")).stdout.toString().includes("voters: n1 n2 n3 n4"),
      "the new leader to report four voters",
    );
    // The others took n4 into their member lists from the metadata: once the dead leader is
    // out of placement, chunks go to n4 too.
    let attempt = 0;
    await waitFor(
      async () => {
        await writeFile(client, `/placed-${attempt++}.bin`, randomBytes(100_000));
        return (await cluster.chunkFiles(3)).length > 0;
      },
      "a chunk placed on n4",
      30_000,
    );
    const bad = await member("add", "n5", "--address", "nowhere");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--address "nowhere" is not host:port/);
  });
});

describe("member add of a metadata server no --peers names, on static membership", () => {
  // n1..n3 metadata servers, n4..n6 data servers told only of n1..n3, n7 a metadata server
  // that joins.
  const cluster = new Cluster({ size: 7, metadataServers: 3, joiningMetadataServers: [6] });
  let client: SandstoreClient;
  before(async () => {
    await cluster.start([0, 1, 2, 3, 4, 5]);
    await cluster.leader();
    client = connect(cluster.addresses.slice(0, 3));
  });
  after(async () => {
    await client?.closeClient();
    await cluster.close();
  });

  test("the data servers learn of it from their reports' answers, and it can lead", async () => {
    await cluster.startNode(6);
    const everyMetadataServer = [...cluster.addresses.slice(0, 3), cluster.addresses[6]].join(",");
    const member = (...args: string[]) =>
      runCli(["member", ...args, "--nodes", everyMetadataServer], {
        SANDSTORE_CLUSTER_TOKEN: cluster.token,
      });
    const added = await member("add", "n7", "--address", cluster.addresses[6] ?? "");
    assert.equal(added.code, 0, added.stderr);
    // n7's own view: every data server reports to it, though none was told of it.
    await waitFor(
      async () => {
        const out = await runCli(["status", "--json", "--cluster", cluster.addresses[6] ?? ""]);
        const rows: Array<{ id: string; memberLive: boolean }> = JSON.parse(
          out.stdout.toString(),
        ).nodes;
        return ["n4", "n5", "n6"].every((id) => rows.find((n) => n.id === id)?.memberLive);
      },
      "every data server to report to n7",
      30_000,
    );
    const leader = await cluster.leader();
    await cluster.kill(leader);
    const data = randomBytes(300_000);
    await writeFile(client, "/after-n7.bin", data);
    assert.deepEqual(await readFile(client, "/after-n7.bin"), data);
  });
});
