/**
 * Cluster settings live in the metadata log: decided once at bootstrap, read by every node
 * from there, and a node whose flags disagree refuses to run, naming both values.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, describe, test } from "node:test";
import { connect, O_CREAT, O_WRONLY, SandstoreError, UnavailableError } from "../src/index.ts";
import { Cluster } from "./helpers/hyperconverged-cluster.ts";
import { runCli, startNode, waitFor } from "./helpers/node-process.ts";

const KiB = 1024;

describe("cluster settings", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test("bad settings flags are refused before anything starts, naming what was wrong", async () => {
    const base = ["node", "--id", "n1", "--listen", "127.0.0.1:0", "--data-dir", "/nonexistent/x"];
    const quorum = await runCli([
      ...base,
      "--topology",
      "hyperconverged",
      "--replication",
      "3",
      "--write-quorum",
      "4",
    ]);
    assert.equal(quorum.code, 2);
    assert.match(
      quorum.stderr,
      /write quorum 4 is not an integer from 1 to the replication factor 3/,
    );
    const chunk = await runCli([...base, "--chunk-size", "1000"]);
    assert.equal(chunk.code, 2);
    assert.match(chunk.stderr, /chunk size 1000 is not an integer from 4096/);
    const single = await runCli([...base, "--replication", "2"]);
    assert.equal(single.code, 2);
    assert.match(single.stderr, /the single topology keeps one copy of each chunk/);
  });

  test("single: a restart with another --chunk-size refuses to start, naming both values", async () => {
    const node = await startNode({ args: ["--chunk-size", String(64 * KiB)] });
    dirs.push(node.dataDir);
    const client = connect(node.address);
    const status = await client.status();
    assert.equal(status.chunkSize, 64 * KiB);
    assert.equal(status.replicationFactor, 1);
    assert.equal(status.writeQuorum, 1);
    await client.closeClient();
    await node.stop();
    await assert.rejects(
      startNode({ dataDir: node.dataDir, args: ["--chunk-size", String(128 * KiB)] }),
      /--chunk-size 131072 was given, but the cluster was created with 65536/,
    );
    // Without the flag the node reads the decided size.
    const again = await startNode({ dataDir: node.dataDir });
    const reader = connect(again.address);
    assert.equal((await reader.status()).chunkSize, 64 * KiB);
    await reader.closeClient();
    await again.stop();
  });

  test("hyperconverged: a new node whose flags differ from the bootstrap's refuses once it learns them", async () => {
    const cluster = new Cluster({ nodeArgs: ["--chunk-size", String(64 * KiB)] });
    // Two of three nodes bootstrap the cluster; the third starts later, never having run.
    await cluster.start([0, 1]);
    try {
      await cluster.leader();
      const client = connect(cluster.addresses.slice(0, 2).join(","));
      await waitFor(
        async () => (await client.status()).chunkSize === 64 * KiB,
        "the settings to be decided",
      );
      await client.closeClient();
      await cluster.startNode(2, ["--chunk-size", String(32 * KiB)]);
      const exit = await cluster.exitOf(2);
      assert.equal(exit.code, 1);
      assert.match(
        exit.stderr,
        /--chunk-size 32768 was given, but the cluster was created with 65536/,
      );
    } finally {
      await cluster.close();
    }
  });

  test("hyperconverged: the log decides R, W and the chunk size; W is enforced; conflicting nodes refuse", async () => {
    const cluster = new Cluster({
      nodeArgs: ["--chunk-size", String(64 * KiB), "--write-quorum", "3"],
    });
    await cluster.start();
    try {
      await cluster.leader();
      const client = connect(cluster.addresses.join(","), { retryForMs: 1500 });
      await waitFor(
        async () => (await client.status()).chunkSize === 64 * KiB,
        "the settings to be decided",
      );
      const status = await client.status();
      assert.equal(status.replicationFactor, 3);
      assert.equal(status.writeQuorum, 3);

      // W=3: with a node down, a chunk write cannot become durable on 3 and is refused.
      await cluster.kill(2, "SIGTERM");
      const fd = await client.open("/big", O_CREAT | O_WRONLY);
      await client.write(fd, Buffer.alloc(64 * KiB, 7));
      await assert.rejects(client.fsync(fd), (error: unknown) => {
        assert.ok(!(error instanceof UnavailableError), String(error));
        return /EAGAIN|resource temporarily unavailable/.test(String(error));
      });
      await client.close(fd).catch(() => undefined);

      // A node restarted with another chunk size refuses, naming both values.
      await assert.rejects(
        cluster.startNode(2, ["--chunk-size", String(128 * KiB)]),
        /--chunk-size 131072 was given, but the cluster was created with 65536/,
      );
      await assert.rejects(
        cluster.startNode(2, ["--write-quorum", "2"]),
        /--write-quorum 2 was given, but the cluster was created with 3/,
      );

      // Started as the cluster was, it joins, and a write is durable on all three again.
      // The leader counts n3 live only once it hears from it again; until then the write is
      // refused with EAGAIN as above, so it is retried until the restarted node is counted.
      await cluster.startNode(2);
      await waitFor(
        async () => {
          const again = await client.open("/big", O_CREAT | O_WRONLY);
          try {
            await client.write(again, Buffer.alloc(64 * KiB, 8));
            await client.close(again);
            return true;
          } catch (error) {
            if (!(error instanceof SandstoreError && error.code === "EAGAIN")) throw error;
            await client.close(again).catch(() => undefined);
            return false;
          }
        },
        "a write durable on all three once n3 is back",
        60_000,
      );
      assert.equal((await client.stat("/big")).size, 64 * KiB);
      await client.closeClient();
    } finally {
      await cluster.close();
    }
  });
});
