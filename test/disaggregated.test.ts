/**
 * The disaggregated topology as real processes: three metadata servers (one Raft group, no
 * chunks) and data servers that the client writes to and reads from directly, with the
 * capabilities the metadata leader signs. Faults: the metadata leader and a data server
 * killed in the middle of writes, a data server lost for good, a new one put to use.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MemoryChunkStore } from "../src/chunks/memory-chunk-store.ts";
import { ChunkGrantBook } from "../src/data/chunk-grant-book.ts";
import { connect, O_CREAT, O_WRONLY, type SandstoreClient } from "../src/index.ts";
import { GrpcReplicaAccess } from "../src/transport/grpc-chunk-service.ts";
import { clientCallMetadata } from "../src/transport/grpc-transport.ts";
import { PLAINTEXT_CHANNELS } from "../src/transport/peer-auth.ts";
import { tokenPeerAuth } from "../src/transport/token-peer-auth.ts";
import { Cluster, readFile, writeFile } from "./helpers/hyperconverged-cluster.ts";
import { mcpOverStdio } from "./helpers/mcp-client.ts";
import { runCli, waitFor } from "./helpers/node-process.ts";

const MiB = 1024 * 1024;
const CHUNK = 1 * MiB;

interface NodeFigures {
  id: string;
  roles: string[];
  live: boolean;
  role: string;
  chunkCount: number;
  clientBytesWritten: number;
  clientBytesRead: number;
}

describe("disaggregated: three metadata servers, data servers apart", () => {
  // n1..n3 metadata servers; n4..n7 data servers; n8 a data server started late.
  const cluster = new Cluster({
    size: 8,
    metadataServers: 3,
    nodeArgs: [
      "--chunk-size",
      String(CHUNK),
      "--placement",
      "rendezvous",
      "--repair-interval-ms",
      "500",
      "--repair-lost-after-ms",
      "2000",
      // Garbage collection soon after a chunk is orphaned: the grace must outlast a capability.
      ...["--capability-lifetime-ms", "4000", "--gc-grace-ms", "5000", "--gc-interval-ms", "1000"],
      ...["--inventory-interval-ms", "1000"],
    ],
  });
  let client: SandstoreClient;
  /** When data server n7 was killed for good (the repair of its copies counts from there). */
  let killedAt = 0;
  before(async () => {
    await cluster.start([0, 1, 2, 3, 4, 5, 6]);
    await cluster.leader();
    client = connect(cluster.addresses.slice(0, 3));
  });
  after(async () => {
    await client?.closeClient();
    await cluster.close();
  });

  const status = async (): Promise<NodeFigures[]> => {
    const out = await runCli([
      "status",
      "--json",
      "--cluster",
      cluster.addresses.slice(0, 3).join(","),
    ]);
    return JSON.parse(out.stdout.toString()).nodes;
  };
  const chunkCount = async (i: number) =>
    existsSync(join(cluster.dataDir(i), "chunks")) ? (await cluster.chunkFiles(i)).length : 0;

  test("files move between the client and the data servers; metadata servers hold and pass no byte", async () => {
    const data = randomBytes(5 * CHUNK + 77);
    await writeFile(client, "/big.bin", data);
    await writeFile(client, "/small.txt", Buffer.from("hello, data servers\n"));
    assert.deepEqual(await readFile(client, "/big.bin"), data);
    assert.equal((await readFile(client, "/small.txt")).toString(), "hello, data servers\n");
    for (const i of cluster.metadataIndexes)
      assert.equal(await chunkCount(i), 0, `metadata server n${i + 1} holds no chunk`);
    let copies = 0;
    for (const i of [3, 4, 5, 6]) copies += await chunkCount(i);
    // Six chunks of the big file and one of the small one (nothing is held inline), R = 3.
    assert.equal(copies, 7 * 3, "three copies of every chunk on the data servers");
    const nodes = await status();
    assert.equal(nodes.length, 7, "the metadata servers list the data servers that reported");
    let written = 0;
    let read = 0;
    for (const node of nodes) {
      if (node.roles.includes("metadata")) {
        assert.deepEqual(node.roles, ["metadata"]);
        assert.equal(node.clientBytesWritten + node.clientBytesRead, 0, `${node.id} passed bytes`);
      } else {
        assert.deepEqual(node.roles, ["data"]);
        assert.equal(node.role, "data");
        written += node.clientBytesWritten;
        read += node.clientBytesRead;
      }
    }
    assert.ok(written >= 3 * (data.length + 20), "the client wrote every copy to a data server");
    assert.ok(read >= data.length + 20, "and read every byte from one");
  });

  test("links, special files and owners pass through a data server to the metadata servers", async () => {
    // A data server's file service reaches the namespace over the metadata service.
    const viaData = connect(cluster.addresses[3] ?? "");
    try {
      await writeFile(viaData, "/linked.txt", Buffer.from("one inode\n"));
      await viaData.link("/linked.txt", "/linked-too.txt");
      await viaData.symlink("linked.txt", "/soft", { owner: { uid: 1000, gid: 1001 } });
      await viaData.mknod("/fifo", "fifo", { mode: 0o600 });
      await viaData.mkdir("/owned", { owner: { uid: 1000, gid: 1001 } });
      const fd = await viaData.open("/owned/f", O_CREAT | O_WRONLY, 0o644, {
        owner: { uid: 1002, gid: 1003 },
      });
      await viaData.close(fd);
      assert.equal((await client.stat("/linked-too.txt")).nlink, 2);
      assert.equal(await client.readlink("/soft"), "linked.txt");
      assert.deepEqual(
        [(await client.stat("/soft")).uid, (await client.stat("/soft")).gid],
        [1000, 1001],
      );
      assert.equal((await client.stat("/fifo")).type, "fifo");
      assert.equal((await client.stat("/owned")).uid, 1000);
      assert.deepEqual(
        [(await client.stat("/owned/f")).uid, (await client.stat("/owned/f")).gid],
        [1002, 1003],
      );
      for (const path of ["/linked.txt", "/linked-too.txt", "/soft", "/fifo", "/owned/f"])
        await viaData.unlink(path);
      await viaData.rmdir("/owned");
    } finally {
      await viaData.closeClient();
    }
  });

  test("an MCP client sees chunks on the data servers and moves the metadata leadership", async () => {
    await writeFile(client, "/placed.bin", randomBytes(2 * CHUNK));
    const mcp = await mcpOverStdio([
      ...["--cluster", cluster.addresses.slice(0, 3).join(",")],
      ...["--cluster-token", cluster.token],
    ]);
    try {
      const placed = await mcp.callTool({
        name: "placement",
        arguments: { path: "/placed.bin", verify: true },
      });
      assert.ok(!placed.isError, JSON.stringify(placed.content));
      const slots = (
        placed.structuredContent as {
          slots: Array<{ copies: Array<{ nodeId: string; health: string }> }>;
        }
      ).slots;
      assert.equal(slots.length, 2);
      const dataServers = new Set(["n4", "n5", "n6", "n7"]);
      for (const slot of slots) {
        assert.equal(slot.copies.length, 3);
        for (const copy of slot.copies) {
          assert.ok(dataServers.has(copy.nodeId), `${copy.nodeId} is a data server`);
          assert.equal(copy.health, "good");
        }
      }
      const moved = await mcp.callTool({ name: "transfer_leadership", arguments: {} });
      assert.ok(!moved.isError, JSON.stringify(moved.content));
      const report = moved.structuredContent as { leader: string; previousLeader: string };
      assert.notEqual(report.leader, report.previousLeader);
      assert.ok(["n1", "n2", "n3"].includes(report.leader), "a metadata server leads");
    } finally {
      await mcp.close();
    }
    // Through a data server: placement from the metadata it asks; it cannot verify copies.
    const viaData = connect(cluster.addresses[3] ?? "");
    try {
      const placement = await viaData.placement("/placed.bin");
      assert.equal(placement.slots.length, 2);
      await assert.rejects(viaData.placement("/placed.bin", { verify: true }), { code: "ENOTSUP" });
    } finally {
      await viaData.closeClient();
    }
    await client.unlink("/placed.bin");
    await cluster.leader();
  });

  test("a data server refuses chunk calls without a capability the metadata signed", async () => {
    const book = new ChunkGrantBook();
    const forged = `v1:n1.0123456789abcdef:write:${"ab".repeat(16)}:99999999999999:AAAA`;
    book.remember(
      [{ chunkId: "ab".repeat(16), operation: "write", capability: forged, expiresAtMs: 9e15 }],
      [{ id: "n4", address: cluster.addresses[3]! }],
    );
    const access = new GrpcReplicaAccess({
      addressOf: (id) => book.addressOf(id),
      auth: {
        channel: PLAINTEXT_CHANNELS.channel,
        callMetadata: () => clientCallMetadata(undefined),
      },
      grants: book,
    });
    const code = (p: Promise<unknown>) =>
      p.then(
        () => "ok",
        (e: { code?: string }) => e.code,
      );
    assert.equal(await code(access.writeChunk("n4", "ab".repeat(16), Buffer.from("x"))), "EACCES");
    assert.equal(await code(access.readChunk("n4", "ab".repeat(16), 0, 1)), "EACCES");
    assert.equal(
      await code(access.readChunk("n4", "cd".repeat(16), 0, 1)),
      "EACCES",
      "no grant at all: refused before any call",
    );
    assert.equal(await code(access.listChunks("n4")), "EACCES", "listings are for nodes only");
    access.close();
  });

  test("garbage collection deletes a chunk no file refers to, on a data server, from its inventory", async () => {
    // A chunk a node wrote that no commit refers to (a write abandoned before its commit).
    const orphan = "ef".repeat(16);
    const node = tokenPeerAuth({ token: cluster.token, selfId: "n1", role: "node" });
    const access = GrpcReplicaAccess.forPeers(
      "n1",
      new MemoryChunkStore(),
      new Map([["n4", cluster.addresses[3] ?? ""]]),
      node,
    );
    await access.writeChunk("n4", orphan, Buffer.from("nobody's"));
    const held = async () => (await cluster.chunkFiles(3)).some((file) => file.endsWith(orphan));
    assert.ok(await held(), "written on n4");
    // Past the grace period (5 s), the leader's next pass finds it in n4's inventory and
    // deletes it; a referenced chunk stays.
    await waitFor(async () => !(await held()), "the orphan to be collected", 60_000);
    assert.equal((await readFile(client, "/small.txt")).toString(), "hello, data servers\n");
    access.close();
  });

  test("writes go on while the metadata leader is killed in the middle of them", async () => {
    const leader = await cluster.leader();
    const files = Array.from({ length: 6 }, (_, i) => ({
      path: `/during-failover-${i}.bin`,
      data: randomBytes(2 * CHUNK + i),
    }));
    const writes = (async () => {
      for (const file of files) await writeFile(client, file.path, file.data);
    })();
    await waitFor(
      async () => (await client.readdir("/")).some((e) => e.name.startsWith("during-")),
      "a first write",
    );
    await cluster.kill(leader);
    await writes;
    for (const file of files) assert.deepEqual(await readFile(client, file.path), file.data);
    await cluster.startNode(leader);
    await cluster.leader();
  });

  test("writes go on while a data server is killed in the middle of them (W = 2 of 3)", async () => {
    const files = Array.from({ length: 6 }, (_, i) => ({
      path: `/data-server-dies-${i}.bin`,
      data: randomBytes(2 * CHUNK + i),
    }));
    const writes = (async () => {
      for (const file of files) await writeFile(client, file.path, file.data);
    })();
    await waitFor(
      async () => (await client.readdir("/")).some((e) => e.name.startsWith("data-server-dies")),
      "a first write",
    );
    await cluster.kill(6);
    killedAt = Date.now();
    await writes;
    for (const file of files) assert.deepEqual(await readFile(client, file.path), file.data);
  });

  test("a data server lost for good: its copies are made again on the others", async () => {
    // n7 (index 6) was killed above and stays down: after --repair-lost-after-ms, every chunk
    // it held gets its third copy on the three data servers left.
    const referenced = 7 + 17 + 17;
    const leaderFigures = async () => {
      const out = await runCli([
        "status",
        "--json",
        "--cluster",
        cluster.addresses.slice(0, 3).join(","),
      ]);
      const nodes: Array<
        NodeFigures & {
          maintenance?: {
            active: boolean;
            repairedTotal: number;
            repairPending: number;
            underReplicated: number;
            repairPasses: number;
          };
        }
      > = JSON.parse(out.stdout.toString()).nodes;
      return nodes.find((n) => n.maintenance?.active)?.maintenance;
    };
    // n7 is lost to the leader's repair once its reports have stopped for three intervals (not
    // live) and --repair-lost-after-ms more has passed from the first pass that saw it so. A
    // pass starting after that replaces its copies; the pass after that finds nothing short.
    const notLiveMs = 3 * 1000;
    const lostMs = 2000;
    await waitFor(
      () => Date.now() > killedAt + notLiveMs + lostMs + 1000,
      "n7 to count as lost",
      30_000,
    );
    const started = (await leaderFigures())?.repairPasses ?? 0;
    await waitFor(
      async () => {
        const m = await leaderFigures();
        return (
          m !== undefined &&
          m.repairPasses >= started + 2 &&
          m.repairPending === 0 &&
          m.underReplicated === 0
        );
      },
      "repair to bring every chunk back to three copies",
      60_000,
    );
    for (const i of [3, 4, 5])
      assert.ok((await chunkCount(i)) >= referenced, `n${i + 1} holds a copy of every chunk`);
    for (let i = 0; i < 6; i++)
      assert.equal((await readFile(client, `/data-server-dies-${i}.bin`)).length, 2 * CHUNK + i);
  });

  test("a client that knows only a data server finds the metadata servers through it", async () => {
    const viaData = connect([cluster.addresses[3] ?? ""]);
    try {
      const listed = (await viaData.status()).nodes;
      const metadata = listed.filter((node) => node.roles.includes("metadata"));
      assert.ok(metadata.length > 0, "the data server names the metadata servers it reports to");
      for (const node of metadata) {
        assert.ok(["n1", "n2", "n3"].includes(node.id), `${node.id} is a metadata server`);
        assert.equal(node.address, cluster.addresses[Number(node.id.slice(1)) - 1]);
      }
      const data = randomBytes(CHUNK + 5);
      await writeFile(viaData, "/via-a-data-server.bin", data);
      assert.deepEqual(await readFile(viaData, "/via-a-data-server.bin"), data);
    } finally {
      await viaData.closeClient();
    }
  });

  test("a new data server takes new chunks", async () => {
    await cluster.startNode(7);
    await waitFor(
      async () => (await status()).some((n) => n.id === "n8" && n.live),
      "n8 to report to the metadata servers",
    );
    const data = randomBytes(12 * CHUNK);
    await writeFile(client, "/after-n8.bin", data);
    assert.ok((await chunkCount(7)) > 0, "placement chose the new data server");
    assert.deepEqual(await readFile(client, "/after-n8.bin"), data);
  });
});
