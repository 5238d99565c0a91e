/**
 * The hyperconverged topology on etcd membership: three node processes register in a real
 * etcd, place chunks on the members whose leases live, and leave a killed node out of new
 * writes once its lease expires.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Etcd3 } from "etcd3";
import { connect, type SandstoreClient } from "../src/index.ts";
import { EtcdServer } from "./helpers/etcd-server.ts";
import { Cluster, readFile, writeFile } from "./helpers/hyperconverged-cluster.ts";
import { runCli, waitFor } from "./helpers/node-process.ts";

const MiB = 1024 * 1024;

describe("hyperconverged on etcd membership: three node processes and a real etcd", () => {
  const etcd = new EtcdServer();
  let cluster: Cluster;
  let client: SandstoreClient;
  before(async () => {
    await etcd.start();
    cluster = new Cluster({
      nodeArgs: [
        ...["--membership", `etcd://${etcd.endpoint}/hyperconverged-test`],
        ...["--chunk-size", String(MiB), "--replication", "2", "--repair-interval-ms", "500"],
      ],
    });
    await cluster.start();
    await cluster.leader();
    client = connect(cluster.addresses);
  });
  after(async () => {
    await client?.closeClient();
    await cluster?.close();
    await etcd.stop();
  });

  test("every node registers; files are written and read; a killed node gets no new chunk", async () => {
    const registered = new Etcd3({ hosts: `http://${etcd.endpoint}` });
    try {
      const keys = Object.keys(
        await registered.getAll().prefix("/hyperconverged-test/members/").strings(),
      ).sort();
      assert.deepEqual(
        keys,
        ["n1", "n2", "n3"].map((id) => `/hyperconverged-test/members/${id}`),
      );
    } finally {
      registered.close();
    }
    const data = randomBytes(4 * MiB + 3);
    await writeFile(client, "/on-etcd.bin", data);
    assert.deepEqual(await readFile(client, "/on-etcd.bin"), data);
    // A follower killed: its lease (5 s) runs out, and new chunks go to the two left.
    const leader = await cluster.leader();
    const victim = [0, 1, 2].find((i) => i !== leader) ?? 0;
    await cluster.kill(victim);
    const before = (await cluster.chunkFiles(victim)).length;
    await waitFor(
      async () => {
        const out = await runCli([
          "status",
          "--json",
          "--cluster",
          cluster.addresses[leader] ?? "",
        ]);
        const status = JSON.parse(out.stdout.toString());
        const killed = status.nodes.find((n: { id: string }) => n.id === `n${victim + 1}`);
        return killed?.memberLive === false;
      },
      "the leader's view to count the killed node gone",
      30_000,
    );
    const after = randomBytes(6 * MiB);
    await writeFile(client, "/after-the-kill.bin", after);
    assert.deepEqual(await readFile(client, "/after-the-kill.bin"), after);
    assert.equal((await cluster.chunkFiles(victim)).length, before, "no chunk went to it");
  });

  test("with etcd killed the cluster keeps serving on its last view, marked stale; it recovers after a restart", async () => {
    const leader = await cluster.leader();
    const stale = async () => {
      const out = await runCli(["status", "--json", "--cluster", cluster.addresses[leader] ?? ""]);
      const status = JSON.parse(out.stdout.toString());
      return status.nodes[0]?.membershipStale === true;
    };
    await etcd.kill();
    await waitFor(stale, "the leader to mark its view stale", 30_000);
    const text = await runCli(["status", "--cluster", cluster.addresses[leader] ?? ""]);
    assert.match(text.stdout.toString(), /membership on n\d is stale/);
    const data = randomBytes(2 * MiB + 1);
    await writeFile(client, "/while-etcd-is-down.bin", data);
    assert.deepEqual(await readFile(client, "/while-etcd-is-down.bin"), data);
    await etcd.start();
    await waitFor(async () => !(await stale()), "the view to be current again", 30_000);
    assert.deepEqual(await readFile(client, "/while-etcd-is-down.bin"), data);
  });

  test("a drained node's copies move to the other two (R = 2); it takes new chunks again after --cancel", async () => {
    // The node killed above comes back first: with two of three, no copy could move off n3.
    for (const i of [0, 1, 2]) if (!cluster.isRunning(i)) await cluster.startNode(i);
    // The restarted node catches up on everything written since it was killed first.
    await cluster.leader(60_000);
    const data = randomBytes(5 * MiB + 9);
    await writeFile(client, "/before-the-drain.bin", data);
    const admin = (args: string[]) =>
      runCli([...args, "--cluster", cluster.addresses.join(",")], {
        SANDSTORE_CLUSTER_TOKEN: cluster.token,
      });
    const drained = await admin(["drain", "n3", "--timeout", "120"]);
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout.toString(), /n3 is drained/);
    assert.deepEqual(await readFile(client, "/before-the-drain.bin"), data);
    const text = await runCli(["status", "--cluster", cluster.addresses[0] ?? ""]);
    assert.match(text.stdout.toString(), /n3 is draining: it gets no new chunk/);
    const cancelled = await admin(["drain", "n3", "--cancel"]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(cancelled.stdout.toString(), /n3 is no longer draining/);
  });
});

test("--membership etcd is refused where it is not built, and a malformed one is named", async () => {
  const base = ["node", "--id", "n1", "--listen", "127.0.0.1:0", "--data-dir", "/nonexistent"];
  for (const [args, message] of [
    [["--topology", "single", "--membership", "etcd://127.0.0.1:2379"], /static membership only/],
    [
      [
        ...["--topology", "kv", "--client-listen", "127.0.0.1:0"],
        ...["--membership", "etcd://127.0.0.1:2379"],
      ],
      /static membership only/,
    ],
    [["--topology", "hyperconverged", "--membership", "etcd://nowhere"], /endpoint "nowhere"/],
    [["--topology", "hyperconverged", "--membership", "consul://x:1"], /is not etcd:\/\//],
  ] as const) {
    const run = await runCli([...base, ...args]);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
});
