/**
 * The disaggregated topology on etcd membership, as real processes and a real etcd: data
 * servers are told nothing of the metadata servers and find them in etcd; the cluster grows
 * from three data servers to five with nothing restarted, is rebalanced, and has a server
 * drained away, every file readable throughout and every chunk ending with R copies. A data
 * server cut off from etcd drops out of placement while it goes on serving, and comes back.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { TcpProxy } from "../src/chaos/tcp-proxy.ts";
import { connect, type SandstoreClient } from "../src/index.ts";
import { EtcdServer } from "./helpers/etcd-server.ts";
import { Cluster, readFile, writeFile } from "./helpers/hyperconverged-cluster.ts";
import { runCli, waitFor } from "./helpers/node-process.ts";

const MiB = 1024 * 1024;
const CHUNK = MiB;
const PREFIX = "/disaggregated-test";

interface NodeRow {
  id: string;
  roles: string[];
  memberLive: boolean;
  draining: boolean;
  membershipStale: boolean;
}

describe("disaggregated on etcd membership: grow, rebalance, drain", () => {
  const etcd = new EtcdServer();
  // n1..n3 metadata servers; n4..n6 data servers at first; n7, n8 added later; n9 a metadata
  // server that joins the group.
  let cluster: Cluster;
  let client: SandstoreClient;
  let proxy: TcpProxy;
  const files = new Map<string, Buffer>();
  before(async () => {
    await etcd.start();
    const [host = "", port = "0"] = etcd.endpoint.split(":");
    proxy = new TcpProxy({ host, port: Number(port) });
    cluster = new Cluster({
      size: 9,
      metadataServers: 3,
      membership: `etcd://${etcd.endpoint}${PREFIX}`,
      nodeArgs: [
        ...["--chunk-size", String(CHUNK), "--placement", "rendezvous"],
        ...["--repair-interval-ms", "500", "--repair-lost-after-ms", "600000"],
        // Old copies are collected soon after a move: the grace must outlast a capability.
        ...[
          "--capability-lifetime-ms",
          "4000",
          "--gc-grace-ms",
          "5000",
          "--gc-interval-ms",
          "1000",
        ],
        ...["--inventory-interval-ms", "1000"],
      ],
    });
    await cluster.start([0, 1, 2, 3, 4, 5]);
    await cluster.leader();
    client = connect(cluster.addresses.slice(0, 3));
  });
  after(async () => {
    await client?.closeClient();
    await cluster?.close();
    await proxy?.stop();
    await etcd.stop();
  });

  const metadata = () => cluster.addresses.slice(0, 3).join(",");
  const status = async (): Promise<NodeRow[]> => {
    const out = await runCli(["status", "--json", "--cluster", metadata()]);
    return JSON.parse(out.stdout.toString()).nodes;
  };
  const admin = (args: string[]) =>
    runCli([...args, "--cluster", metadata()], { SANDSTORE_CLUSTER_TOKEN: cluster.token });
  const chunkCount = async (i: number) =>
    existsSync(join(cluster.dataDir(i), "chunks")) ? (await cluster.chunkFiles(i)).length : 0;
  const write = async (path: string, size: number) => {
    const data = randomBytes(size);
    await writeFile(client, path, data);
    files.set(path, data);
  };
  const readAll = async () => {
    for (const [path, data] of files) assert.deepEqual(await readFile(client, path), data, path);
  };
  /**
   * Reads every file over and over until `during` settles, each read checked: files stay
   * readable throughout a rebalance or a drain, not only after. Resolves to `during`'s value
   * and the rounds read.
   */
  const readingThroughout = async <T>(
    during: Promise<T>,
  ): Promise<{ value: T; rounds: number }> => {
    let done = false;
    let rounds = 0;
    const reading = (async () => {
      while (!done) {
        await readAll();
        rounds++;
      }
    })();
    try {
      return { value: await during, rounds };
    } finally {
      done = true;
      await reading;
    }
  };
  /** Chunks of every file written: none is held inline, each slot is one chunk. */
  const chunks = () => [...files.values()].reduce((n, d) => n + Math.ceil(d.length / CHUNK), 0);

  test("data servers find the metadata servers in etcd; files are written and read", async () => {
    await write("/first.bin", 6 * CHUNK + 5);
    await write("/second.bin", 3 * CHUNK);
    await readAll();
    let copies = 0;
    for (const i of [3, 4, 5]) copies += await chunkCount(i);
    assert.equal(copies, 3 * chunks(), "R = 3 copies of every chunk, all on n4..n6");
    const rows = await status();
    assert.deepEqual(
      rows
        .filter((n) => n.roles.includes("data"))
        .map((n) => [n.id, n.memberLive])
        .sort(),
      [
        ["n4", true],
        ["n5", true],
        ["n6", true],
      ],
    );
  });

  test("two data servers added with nothing else restarted take new chunks within seconds", async () => {
    await cluster.startNode(6);
    // n8 reaches etcd through a proxy, to be cut off from it later.
    const viaProxy = await proxy.start();
    await cluster.startNode(7, ["--membership", `etcd://${viaProxy}${PREFIX}`]);
    const addedAt = Date.now();
    await waitFor(
      async () => {
        const live = (await status()).filter((n) => n.memberLive).map((n) => n.id);
        return live.includes("n7") && live.includes("n8");
      },
      "the leader to see n7 and n8 live",
      30_000,
    );
    await write("/after-growth.bin", 12 * CHUNK);
    assert.ok(Date.now() - addedAt < 30_000);
    assert.ok((await chunkCount(6)) + (await chunkCount(7)) > 0, "placement chose a new server");
    await readAll();
  });

  test("a rebalance evens out the bytes per data server; every file stays readable", async () => {
    const counts = async () => Promise.all([3, 4, 5, 6, 7].map(chunkCount));
    const spread = (list: number[]) => Math.max(...list) - Math.min(...list);
    const total = 3 * chunks();
    const mean = total / 5;
    assert.ok(spread(await counts()) > 0.2 * mean + 1, "the new servers hold less at first");
    const { value: run } = await readingThroughout(
      // Steps of one copy: a rebalance that moves more than one reports each step.
      admin(["rebalance", "--rate-mib", "64", "--step-mib", "1", "--tolerance", "20"]),
    );
    assert.equal(run.code, 0, run.stderr);
    const moved = /balanced after moving (\d+) copies/.exec(run.stdout.toString());
    assert.ok(moved && Number(moved[1]) > 0, run.stdout.toString());
    if (Number(moved[1]) > 1)
      assert.match(run.stdout.toString(), /moved 1 copies \(\d+\.\d MiB\)/, "progress by step");
    // Old copies go once garbage collection's grace has passed: then the servers hold R
    // copies of every chunk, spread within the tolerance (a chunk is 1 MiB).
    await waitFor(
      async () => (await counts()).reduce((a, b) => a + b, 0) === total,
      "moved copies' old homes to be collected",
      60_000,
    );
    assert.ok(spread(await counts()) <= Math.ceil(0.2 * mean), `${await counts()}`);
    await readAll();
  });

  test("a drained data server's copies move to the others, then it leaves; every chunk keeps R copies", async () => {
    const { value: drained } = await readingThroughout(admin(["drain", "n4", "--timeout", "120"]));
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout.toString(), /n4 is drained/);
    assert.ok((await status()).find((n) => n.id === "n4")?.draining, "status says it drains");
    await write("/while-drained.bin", 4 * CHUNK);
    await cluster.kill(3, "SIGTERM");
    await readAll();
    const total = 3 * chunks();
    await waitFor(
      async () => {
        let sum = 0;
        for (const i of [4, 5, 6, 7]) sum += await chunkCount(i);
        return sum === total;
      },
      "R copies of every chunk on the four servers left",
      60_000,
    );
    const refused = await admin(["drain", "n99"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /n99 is not a data server of this cluster/);
  });

  test("a data server cut off from etcd drops out of placement, keeps serving, and comes back", async () => {
    proxy.cut();
    await waitFor(
      async () => (await status()).find((n) => n.id === "n8")?.memberLive === false,
      "n8's lease to expire in the leader's view",
      30_000,
    );
    const n8 = connect([cluster.addresses[7] ?? ""]);
    try {
      await waitFor(
        async () => (await n8.status()).nodes[0]?.membershipStale === true,
        "n8 to mark its own view stale",
        30_000,
      );
    } finally {
      await n8.closeClient();
    }
    const before = await chunkCount(7);
    await write("/while-n8-is-cut-off.bin", 6 * CHUNK);
    assert.equal(await chunkCount(7), before, "no new chunk went to n8");
    await readAll();
    proxy.heal();
    await waitFor(
      async () => (await status()).find((n) => n.id === "n8")?.memberLive === true,
      "n8 to register again",
      30_000,
    );
  });

  test("a metadata server no --peers names joins through etcd: member add learns its address there", async () => {
    const group = cluster.addresses.slice(0, 3).map((a, i) => `n${i + 1}=${a}`);
    await cluster.startNode(8, [
      ...["--roles", "metadata", "--join"],
      ...["--peers", [...group, `n9=${cluster.addresses[8]}`].join(",")],
    ]);
    const everyMetadataServer = [...cluster.addresses.slice(0, 3), cluster.addresses[8]].join(",");
    const member = (...args: string[]) =>
      runCli(["member", ...args, "--nodes", everyMetadataServer], {
        SANDSTORE_CLUSTER_TOKEN: cluster.token,
      });
    const added = await member("add", "n9");
    assert.equal(added.code, 0, added.stderr);
    assert.match((await member("list")).stdout.toString(), /voters: n1 n2 n3 n9;/);
    // The old leader killed: whichever of the four leads (n9 included) places chunks on the
    // data servers it knows from etcd, with the keys their reports brought.
    const leader = await cluster.leader();
    await cluster.kill(leader);
    await waitFor(
      async () => (await member("list")).stdout.toString().includes("voters: n1 n2 n3 n9"),
      "a new leader among the four",
    );
    await write("/after-n9-joined.bin", 3 * CHUNK + 1);
    await readAll();
  });
});
