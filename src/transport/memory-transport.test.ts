import assert from "node:assert/strict";
import { test } from "node:test";
import { memoryPlanes } from "../../test/helpers/memory-planes.ts";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import { O_CREAT, O_RDWR, SandstoreClient } from "../client/sandstore-client.ts";
import { fsError, SandstoreError } from "../common/errors.ts";
import { NodeServer } from "../server/node-server.ts";
import { MemoryTransport } from "./memory-transport.ts";

const tempDir = temporaryDirectories("sandstore-memtransport-");

/** One in-process node (memory stores, local WAL) served on the memory transport. */
async function memoryNode(transport: MemoryTransport) {
  const { control, data, membership, stores, stop } = await memoryPlanes({
    dir: await tempDir("node-"),
    nodes: ["n1"],
    chunkSize: 4096,
  });
  const server = new NodeServer({
    topology: "single",
    control,
    data,
    membership,
    replicationFactor: 1,
    chunkUsage: () => stores.get("n1")!.usage(),
  });
  const listener = await transport.listen("memory:0", server);
  return { listener, stop };
}

test("the SDK works over the memory transport, and a cut node is unavailable until healed", async () => {
  const transport = new MemoryTransport();
  const node = await memoryNode(transport);
  const client = new SandstoreClient({
    cluster: [node.listener.address],
    transport,
    retryForMs: 200,
  });
  await client.mkdir("/d");
  const fd = await client.open("/d/f", O_CREAT | O_RDWR);
  const bytes = Buffer.from("across three chunks of 4 KiB ".repeat(500));
  await client.write(fd, bytes);
  await client.close(fd);
  const again = await client.open("/d/f");
  assert.deepEqual(await client.pread(again, bytes.length, 0), bytes);
  await client.close(again);
  assert.equal((await client.readdir("/d")).length, 1);

  transport.network.isolate(node.listener.address);
  await assert.rejects(
    client.stat("/d/f"),
    (e: SandstoreError) => e instanceof SandstoreError && e.code === "EAGAIN" && e.path === "",
  );
  transport.network.heal();
  assert.equal((await client.stat("/d/f")).size, bytes.length);
  await client.closeClient();
  await node.listener.close();
  await node.stop();
});

test("a call past its deadline fails with ETIMEDOUT; arguments are copied, not shared", async () => {
  const transport = new MemoryTransport();
  let seen: { path: string } | undefined;
  const listener = await transport.listen("memory:0", {
    stat: async (request: { path: string }) => {
      seen = request;
      return { inode: undefined, chunkSize: 4096 };
    },
    readDir: () => new Promise(() => {}),
  } as unknown as NodeServer);
  const connection = transport.connect(listener.address, { callTimeoutMs: 20 });
  const request = { path: "/x" };
  await connection.stat(request);
  assert.notEqual(seen, request);
  assert.deepEqual(seen, request);
  await assert.rejects(
    connection.readDir({ path: "/", afterName: "", limit: 1 }),
    (e: SandstoreError) => e.code === "ETIMEDOUT",
  );
  await listener.close();
  assert.throws(() => transport.network.reach(listener.address), SandstoreError);
});

test("EAGAIN about a file is retried on the same node within retryForMs; other errors are not", async () => {
  const transport = new MemoryTransport();
  const seen: Array<{ path: string; session: unknown }> = [];
  const listener = await transport.listen("memory:0", {
    mkdir: async (request: { path: string; session: unknown }) => {
      seen.push(request);
      if (request.path === "/exists") throw fsError("EEXIST", request.path);
      if (seen.length < 3) throw fsError("EAGAIN", request.path, "1 of 2 chunk copies durable");
      return {};
    },
  } as unknown as NodeServer);
  const client = new SandstoreClient({ cluster: [listener.address], transport, retryForMs: 5000 });
  await client.mkdir("/d");
  assert.equal(seen.length, 3);
  assert.deepEqual(seen[2]!.session, seen[0]!.session, "every try carries the same session");
  await assert.rejects(client.mkdir("/exists"), (e: SandstoreError) => e.code === "EEXIST");
  assert.equal(seen.length, 4);
  await client.closeClient();
  await listener.close();
});
