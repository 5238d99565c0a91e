import assert from "node:assert/strict";
import { test } from "node:test";
import { memoryPlanes } from "../../test/helpers/memory-planes.ts";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import { O_CREAT, O_RDWR, SandstoreClient } from "../client/sandstore-client.ts";
import { fsError, type SandstoreError, UnavailableError } from "../common/errors.ts";
import { FileType } from "../gen/sandstore/v1/metadata.ts";
import { ALL_ROLES } from "../membership/membership.ts";
import { ClientAuthenticator } from "../server/client-authenticator.ts";
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
    roles: ALL_ROLES,
    authenticator: new ClientAuthenticator({
      mode: "off",
      userByAccessKey: (id) => control.userByAccessKey(id),
    }),
    topology: "single",
    control,
    data,
    membership,
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
    (e: unknown) => e instanceof UnavailableError && e.errno === "EAGAIN",
  );
  transport.network.heal();
  assert.equal((await client.stat("/d/f")).size, bytes.length);
  await client.closeClient();
  await node.listener.close();
  await node.stop();
});

test("a call past its deadline fails unavailable (ETIMEDOUT); arguments are copied, not shared", async () => {
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
  const request = { path: "/x", access: 0 };
  await connection.stat(request);
  assert.notEqual(seen, request);
  assert.deepEqual(seen, request);
  await assert.rejects(
    connection.readDir({ path: "/", afterName: "", limit: 1 }),
    (e: unknown) => e instanceof UnavailableError && e.errno === "ETIMEDOUT",
  );
  await listener.close();
  assert.throws(() => transport.network.reach(listener.address), UnavailableError);
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

test("a writer keeps up to two chunk flushes in flight, one per slot at a time; a failed one fails close", async () => {
  const transport = new MemoryTransport();
  const chunkSize = 4;
  let inFlight = 0;
  let most = 0;
  const slotsInFlight = new Set<number>();
  const release: Array<() => void> = [];
  const listener = await transport.listen("memory:0", {
    // A node that moves bytes itself: no metadata-only server in its status.
    status: async () => ({ nodes: [] }),
    create: async () => ({
      inode: { id: 7, type: FileType.FILE_TYPE_REGULAR, size: 0 },
      chunkSize,
    }),
    writeChunk: async (header: { slotIndex: number; offsetInSlot: number }, data: Buffer) => {
      assert.ok(
        !slotsInFlight.has(header.slotIndex),
        `slot ${header.slotIndex} flushed twice at once`,
      );
      slotsInFlight.add(header.slotIndex);
      most = Math.max(most, ++inFlight);
      await new Promise<void>((done) => release.push(done));
      inFlight--;
      slotsInFlight.delete(header.slotIndex);
      if (header.slotIndex === 7) throw fsError("EIO", "/f", "slot 7 lost");
      const size = header.slotIndex * chunkSize + header.offsetInSlot + data.length;
      return { inode: { id: 7, type: FileType.FILE_TYPE_REGULAR, size } };
    },
  } as unknown as NodeServer);
  // Answers the flushes in the order they arrive, as long as the test runs.
  const answering = setInterval(() => release.shift()?.(), 1);
  const client = new SandstoreClient({ cluster: [listener.address], transport, retryForMs: 0 });
  const fd = await client.open("/f", O_CREAT | O_RDWR);
  await client.write(fd, Buffer.alloc(8 * chunkSize, 1));
  await assert.rejects(client.close(fd), (e: SandstoreError) => e.code === "EIO");
  clearInterval(answering);
  assert.equal(most, 2, "two flushes overlapped, never more");
  await client.closeClient();
  await listener.close();
});
