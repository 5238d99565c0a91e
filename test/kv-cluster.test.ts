/**
 * The key-value topology as real processes: everything TitanStore's suite checked, the
 * protocol through the real `nc`, a partitioned old leader, and the fixes of LESSONS.md.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFile, readdir } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { KvConnection } from "../src/kv/kv-client.ts";
import { KvProcessCluster } from "./helpers/kv-cluster.ts";
import { runCli, waitFor } from "./helpers/node-process.ts";

/** Runs the real `nc`, feeding it `input`; returns what it printed. */
function nc(address: string, input: string | Buffer): Promise<string> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(":")),
    address.slice(address.lastIndexOf(":") + 1),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn("nc", ["-N", host, port], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += String(chunk);
    });
    child.on("error", reject);
    child.on("exit", () => resolve(out));
    child.stdin.end(input);
  });
}

describe("a three-node key-value cluster", () => {
  const cluster = new KvProcessCluster(3);
  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.close();
  });

  test("elects one leader within 2 s of start", async () => {
    const started = Date.now();
    const leader = await cluster.leader(2000);
    assert.ok(Date.now() - started < 2000);
    const followers = [0, 1, 2].filter((i) => i !== leader);
    for (const i of followers) {
      // A follower knows the leader from its first heartbeat; until then it has none to name.
      let reply = "";
      await waitFor(
        async () => {
          reply = await cluster.request(i, "SET k v");
          return reply !== "ERR NO_LEADER";
        },
        `node ${i} to hear from the leader`,
        2000,
      );
      assert.equal(
        reply,
        `ERR NOT_LEADER ${cluster.clientAddress(leader)}`,
        "the exact redirect string",
      );
      assert.equal(
        await cluster.request(i, "DELETE k"),
        `ERR NOT_LEADER ${cluster.clientAddress(leader)}`,
      );
    }
  });

  test("sandstore kv set/get/del follow redirects from any seed", async () => {
    const leader = await cluster.leader();
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    const env = { SANDSTORE_KV_CLUSTER: cluster.clientAddress(follower) };
    assert.equal((await runCli(["kv", "set", "cli-key", "two", "words"], env)).code, 0);
    assert.equal((await runCli(["kv", "get", "cli-key"], env)).stdout.toString(), "two words\n");
    assert.equal((await runCli(["kv", "del", "cli-key"], env)).code, 0);
    const missing = await runCli(["kv", "get", "cli-key"], env);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "sandstore: kv get: not found\n");
  });

  test("a value set on the leader reads back on every node (linearizable GET anywhere)", async () => {
    const leader = await cluster.leader();
    assert.equal(await cluster.request(leader, 'SET user:42 {"name":"zen","ts":1741276800}'), "OK");
    for (const i of [0, 1, 2])
      assert.equal(await cluster.request(i, "GET user:42"), 'VALUE {"name":"zen","ts":1741276800}');
    assert.equal(await cluster.request(leader, "DELETE user:42"), "OK");
    for (const i of [0, 1, 2]) assert.equal(await cluster.request(i, "GET user:42"), "NOT_FOUND");
  });

  test("the protocol table through the real nc: spaces, CRLF, case, unknown commands", async () => {
    const leader = await cluster.leader();
    const out = await nc(
      cluster.clientAddress(leader),
      "SET greeting hello  big world\r\nset Greeting  leading space\nGET greeting\r\nget Greeting\nGET missing\nDELETE greeting\nGET greeting\nGET\nSET onlykey\nDELETE\nfrob x\n",
    );
    assert.equal(
      out,
      [
        "OK",
        "OK",
        "VALUE hello  big world",
        "VALUE  leading space",
        "NOT_FOUND",
        "OK",
        "NOT_FOUND",
        "ERR usage: GET <key>",
        "ERR usage: SET <key> <value>",
        "ERR usage: DELETE <key>",
        'ERR unknown command "FROB"',
        "",
      ].join("\n"),
    );
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    assert.equal(
      await nc(cluster.clientAddress(follower), "SET a b\n"),
      `ERR NOT_LEADER ${cluster.clientAddress(leader)}\n`,
    );
  });

  test("1,000 pipelined commands in one write are answered in order", async () => {
    const leader = await cluster.leader();
    const lines: string[] = [];
    for (let i = 0; i < 500; i++) lines.push(`SET p${i % 20} ${i}`, `GET p${i % 20}`);
    const socket = connect({ host: "127.0.0.1", port: cluster.clientPorts[leader]! });
    await new Promise((r) => socket.once("connect", r));
    let out = "";
    socket.on("data", (chunk) => {
      out += String(chunk);
    });
    socket.end(`${lines.join("\n")}\n`);
    await new Promise((r) => socket.once("close", r));
    const replies = out.trimEnd().split("\n");
    assert.equal(replies.length, 1000);
    for (let i = 0; i < 500; i++) {
      assert.equal(replies[2 * i], "OK");
      assert.equal(replies[2 * i + 1], `VALUE ${i}`, `reply to GET after SET ${i}`);
    }
  });

  test("a line over 1 MiB gets ERR line too long and its connection closes; others are unaffected", async () => {
    const leader = await cluster.leader();
    const other = await KvConnection.open(cluster.clientAddress(leader));
    const socket = connect({ host: "127.0.0.1", port: cluster.clientPorts[leader]! });
    await new Promise((r) => socket.once("connect", r));
    let out = "";
    socket.on("data", (chunk) => {
      out += String(chunk);
    });
    socket.write("GET before\n");
    socket.write(`SET big ${"x".repeat(1024 * 1024 + 10)}\n`);
    await new Promise((r) => socket.once("close", r));
    assert.equal(out, "NOT_FOUND\nERR line too long\n");
    assert.equal(
      await other.request("GET before"),
      "NOT_FOUND",
      "another client keeps its connection",
    );
    other.close();
  });

  test("leader failover keeps every acknowledged value; the old leader rejoins as a follower with all data", async () => {
    const old = await cluster.leader();
    for (let i = 0; i < 20; i++) assert.equal(await cluster.request(old, `SET f${i} ${i}`), "OK");
    await cluster.kill(old);
    const started = Date.now();
    const fresh = await cluster.leader(
      5000,
      [0, 1, 2].filter((i) => i !== old),
    );
    const failover = Date.now() - started;
    assert.ok(failover < 5000, `failover took ${failover} ms`);
    for (let i = 0; i < 20; i++)
      assert.equal(await cluster.request(fresh, `GET f${i}`), `VALUE ${i}`);
    assert.equal(await cluster.request(fresh, "SET after failover"), "OK");
    await cluster.startNode(old);
    assert.equal(
      await cluster.request(old, "GET after"),
      "VALUE failover",
      "the restarted node reads linearizably",
    );
    assert.equal(
      await cluster.request(old, "SET x y"),
      `ERR NOT_LEADER ${cluster.clientAddress(fresh)}`,
    );
  });

  test("a partitioned old leader never acknowledges a write and never serves a stale read", async () => {
    const old = await cluster.leader();
    assert.equal(await cluster.request(old, "SET color blue"), "OK");
    await cluster.isolate(old);
    const others = [0, 1, 2].filter((i) => i !== old);
    const fresh = await cluster.leader(10_000, others);
    assert.equal(await cluster.request(fresh, "SET color red"), "OK");
    for (let attempt = 0; attempt < 2; attempt++) {
      const write = await cluster.request(old, `SET color green${attempt}`, 10_000);
      assert.notEqual(write, "OK", "the cut-off node acknowledged a write");
      assert.match(write, /^ERR /);
      const read = await cluster.request(old, "GET color", 10_000);
      assert.notEqual(read, "VALUE blue", "the cut-off node served a stale value");
      assert.notEqual(read, "VALUE red", "it cannot even know the new value");
    }
    await cluster.heal();
    assert.equal(await cluster.request(old, "GET color", 15_000), "VALUE red");
  });

  test("a full restart keeps every key", async () => {
    const leader = await cluster.leader();
    for (let i = 0; i < 10; i++)
      assert.equal(await cluster.request(leader, `SET r${i} ${i}`), "OK");
    for (const i of [0, 1, 2]) await cluster.kill(i, "SIGTERM");
    for (const i of [0, 1, 2]) await cluster.startNode(i);
    const again = await cluster.leader();
    for (let i = 0; i < 10; i++)
      assert.equal(await cluster.request(again, `GET r${i}`), `VALUE ${i}`);
  });

  test("a torn WAL tail is cut at restart and the node serves all committed data", async () => {
    const leader = await cluster.leader();
    const victim = [0, 1, 2].find((i) => i !== leader)!;
    assert.equal(await cluster.request(leader, "SET torn before"), "OK");
    assert.equal(await cluster.request(victim, "GET torn"), "VALUE before");
    await cluster.kill(victim);
    const walDir = join(cluster.dataDir(victim), "raft", "wal");
    const segment = (await readdir(walDir)).sort().at(-1)!;
    // Half a record: a header promising 100 bytes, and only 10 of them.
    const torn = Buffer.alloc(9 + 10);
    torn.writeUInt32BE(100, 0);
    torn.writeUInt8(1, 4);
    await appendFile(join(walDir, segment), torn);
    await cluster.startNode(victim);
    assert.equal(await cluster.request(victim, "GET torn"), "VALUE before");
    // A restart costs a second of CPU here; an election may have moved the leader meanwhile.
    assert.equal(await cluster.request(await cluster.leader(), "SET torn after"), "OK");
    assert.equal(await cluster.request(victim, "GET torn"), "VALUE after");
  });
});

describe("sandstore kv node flags", () => {
  test("bad flags are refused at start with exit 2 and the problem named", async () => {
    const base = [
      "kv",
      "node",
      "-id=n1",
      "-port=1",
      "-client-port=2",
      "--data-dir",
      "/tmp/sandstore-never-created",
    ];
    const cases: Array<[string, RegExp]> = [
      ["-peers=n2:localhost:5002", /peer "n2:localhost:5002" is not id:host:raftPort:clientPort/],
      ["-peers=n2:h:5002:6002,n2:h:5003:6003", /peer id n2 appears twice/],
      ["-peers=n1:h:5002:6002", /names this node \(n1\) itself/],
      ["-peers=n2:h:99999:6002", /raft port 99999/],
    ];
    for (const [flag, message] of cases) {
      const result = await runCli([...base, flag]);
      assert.equal(result.code, 2, flag);
      assert.match(result.stderr, message);
    }
    assert.equal(
      (await runCli(["kv", "node", "-port=1"])).code,
      2,
      "a missing -id is a usage error",
    );
  });
});

describe("snapshots and single nodes", () => {
  test("after snapshots, a restart restores every key; a node that missed them catches up", async () => {
    const cluster = new KvProcessCluster(3, ["--snapshot-entries", "50"]);
    await cluster.start();
    try {
      let leader = await cluster.leader();
      const lagging = [0, 1, 2].find((i) => i !== leader)!;
      await cluster.kill(lagging);
      const latest = new Map<string, number>();
      for (let i = 0; i < 300; i++) {
        assert.equal(await cluster.request(leader, `SET s${i % 40} ${i}`), "OK");
        latest.set(`s${i % 40}`, i);
      }
      const snaps = await readdir(join(cluster.dataDir(leader), "raft", "snap"));
      assert.ok(
        snaps.some((n) => n.endsWith(".snap")),
        "the leader took a snapshot",
      );
      await cluster.startNode(lagging);
      // Until the restarted node hears from the leader it answers NO_LEADER: asked again until
      // it knows one, then its answer must be the latest value.
      let answer = "";
      await waitFor(async () => {
        answer = await cluster.request(lagging, "GET s39", 10_000);
        return answer !== "ERR NO_LEADER";
      }, "the restarted node to know the leader");
      assert.equal(answer, `VALUE ${latest.get("s39")}`);
      for (const i of [0, 1, 2]) await cluster.kill(i, "SIGTERM");
      for (const i of [0, 1, 2]) await cluster.startNode(i);
      leader = await cluster.leader();
      for (const [key, value] of latest)
        assert.equal(await cluster.request(leader, `GET ${key}`), `VALUE ${value}`);
    } finally {
      await cluster.close();
    }
  });

  test("a node with no peers is a working single-node store", async () => {
    const cluster = new KvProcessCluster(1);
    await cluster.start();
    try {
      await cluster.leader(3000);
      assert.equal(await cluster.request(0, "SET solo yes"), "OK");
      assert.equal(await cluster.request(0, "GET solo"), "VALUE yes");
    } finally {
      await cluster.close();
    }
  });
});
