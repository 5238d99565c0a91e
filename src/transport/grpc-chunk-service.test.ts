import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { crc32c } from "@node-rs/crc32";
import { MemoryChunkStore } from "../chunks/memory-chunk-store.ts";
import { SandstoreError, UnavailableError } from "../common/errors.ts";
import { checkCapability, newCapabilityKey, signCapability } from "../data/chunk-capability.ts";
import { ChunkGrantBook } from "../data/chunk-grant-book.ts";
import {
  addChunkService,
  type ChunkClientAccess,
  ClientBytes,
  GrpcReplicaAccess,
} from "./grpc-chunk-service.ts";
import { clientCallMetadata } from "./grpc-transport.ts";
import { PLAINTEXT_CHANNELS } from "./peer-auth.ts";
import { tokenPeerAuth } from "./token-peer-auth.ts";

const node = (selfId: string, token: string) => tokenPeerAuth({ token, selfId, role: "node" });
const TOKEN = "0123456789abcdef0123";

const servers: grpc.Server[] = [];
after(() => {
  for (const server of servers) server.forceShutdown();
});

async function serve(
  store: MemoryChunkStore,
  token: string,
  clients?: ChunkClientAccess,
  selfId = "b",
): Promise<string> {
  const server = new grpc.Server();
  addChunkService(server, store, node(selfId, token), undefined, clients);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  servers.push(server);
  return `127.0.0.1:${port}`;
}

const id = (n: number) => n.toString(16).padStart(32, "0");
const code = async (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e) => (e instanceof SandstoreError ? e.code : String(e)),
  );

test("writes, ranged reads and deletes reach another node's store; wrong tokens are refused", async () => {
  const local = new MemoryChunkStore();
  const remote = new MemoryChunkStore();
  const address = await serve(remote, TOKEN);
  const access = GrpcReplicaAccess.forPeers(
    "a",
    local,
    new Map([["b", address]]),
    node("a", TOKEN),
  );
  const data = randomBytes(3 * 1024 * 1024 + 5);
  const info = await access.writeChunk("b", id(1), data);
  assert.equal(info.size, data.length);
  assert.deepEqual(
    await remote.readChunk(id(1), 0, data.length),
    data,
    "durable on the remote store",
  );
  assert.deepEqual(
    await access.readChunk("b", id(1), 1024 * 1024 - 3, 2 * 1024 * 1024),
    data.subarray(1024 * 1024 - 3, 3 * 1024 * 1024 - 3),
  );
  assert.equal(await code(access.readChunk("b", id(2), 0, 10)), "ENOENT");
  remote.damage(id(1), 100);
  assert.equal(
    await code(access.readChunk("b", id(1), 0, 10)),
    "EIO",
    "a damaged remote copy is EIO, never bytes",
  );
  await access.deleteChunk("b", id(1));
  assert.equal((await remote.listChunks()).length, 0);
  await access.writeChunk("a", id(3), Buffer.from("local"));
  assert.equal(
    (await local.readChunk(id(3), 0, 5)).toString(),
    "local",
    "this node's own store is used directly",
  );
  assert.equal(
    await code(access.writeChunk("c", id(4), Buffer.from("x"))),
    "EAGAIN",
    "an unknown node",
  );
  const intruder = GrpcReplicaAccess.forPeers(
    "x",
    new MemoryChunkStore(),
    new Map([["b", address]]),
    node("x", "guess-guess-guess-guess"),
  );
  assert.equal(await code(intruder.writeChunk("b", id(5), Buffer.from("x"))), "EACCES");
  assert.equal(await code(intruder.readChunk("b", id(3), 0, 1)), "EACCES");
  assert.equal(await code(intruder.deleteChunk("b", id(3))), "EACCES");
  access.close();
  intruder.close();
});

test("a client reaches a chunk with the capability for it, and only that chunk and operation", async () => {
  const key = newCapabilityKey("m1");
  const counters = new ClientBytes();
  const remote = new MemoryChunkStore();
  const address = await serve(remote, TOKEN, {
    checkCapability: async (capability, chunkId, operation) =>
      checkCapability(capability, key, chunkId, operation, Date.now()),
    counters,
  });
  const book = new ChunkGrantBook();
  const later = Date.now() + 60_000;
  book.remember(
    [signCapability(key, id(1), "write", later), signCapability(key, id(2), "read", later)],
    [{ id: "b", address }],
  );
  const client = new GrpcReplicaAccess({
    addressOf: (nodeId) => book.addressOf(nodeId),
    auth: {
      channel: PLAINTEXT_CHANNELS.channel,
      callMetadata: () => clientCallMetadata(undefined),
    },
    grants: book,
  });
  await client.writeChunk("b", id(1), Buffer.from("granted"));
  assert.equal((await client.readChunk("b", id(1), 0, 7)).toString(), "granted");
  assert.equal(counters.writtenTotal, 7);
  assert.equal(counters.readTotal, 7);
  await remote.writeChunk(id(2), Buffer.from("theirs"));
  assert.equal((await client.readChunk("b", id(2), 0, 6)).toString(), "theirs");
  assert.equal(await code(client.writeChunk("b", id(2), Buffer.from("x"))), "EACCES", "read only");
  assert.equal(await code(client.deleteChunk("b", id(2))), "EACCES");
  assert.equal(await code(client.readChunk("b", id(3), 0, 1)), "EACCES", "no grant for it");
  assert.equal(await code(client.listChunks("b")), "EACCES", "listings are for nodes");
  await client.deleteChunk("b", id(1));
  assert.equal(
    await code(remote.readChunk(id(1), 0, 1)),
    "ENOENT",
    "a writer may delete its chunk",
  );
  client.close();
});

test("a node copies a chunk from another node itself: the bytes do not pass through the caller", async () => {
  const target = new MemoryChunkStore();
  const source = new MemoryChunkStore();
  const damaged = new MemoryChunkStore();
  const data = randomBytes(2 * 1024 * 1024 + 9);
  await source.writeChunk(id(1), data);
  await damaged.writeChunk(id(1), data);
  damaged.damage(id(1), 1000);
  const peers = new Map([
    ["b", await serve(target, TOKEN)],
    ["c", await serve(source, TOKEN, undefined, "c")],
    ["d", await serve(damaged, TOKEN, undefined, "d")],
  ]);
  // The caller cannot reach the sources at all: only the target's own reads can succeed.
  const cut = { dropsTo: (peer: string) => peer !== "b", dropsFrom: () => false, close() {} };
  const access = GrpcReplicaAccess.forPeers(
    "a",
    new MemoryChunkStore(),
    peers,
    node("a", TOKEN),
    cut,
  );
  const slot = {
    index: 0,
    chunkId: id(1),
    length: data.length,
    checksum: crc32c(data),
    replicas: ["c", "d"],
    version: 1,
  };
  await assert.rejects(
    access.readChunk("c", id(1), 0, 1),
    UnavailableError,
    "the caller is cut off",
  );
  await access.copyChunk("b", slot, ["d", "c"], 4 * 1024 * 1024);
  assert.deepEqual(
    await target.readChunk(id(1), 0, data.length),
    data,
    "the damaged copy on d was passed over; c's was copied",
  );
  const other = { ...slot, chunkId: id(2) };
  await source.writeChunk(id(2), data);
  assert.equal(
    await code(access.copyChunk("b", { ...other, checksum: slot.checksum ^ 1 }, ["c"], 4 << 20)),
    "EIO",
    "a copy that differs from the checksum metadata holds is not stored",
  );
  assert.equal(await code(target.readChunk(id(2), 0, 1)), "ENOENT");
  assert.equal(
    await code(access.copyChunk("b", other, [], 4 << 20)),
    "EAGAIN",
    "no source to copy from",
  );
  const intruder = GrpcReplicaAccess.forPeers(
    "x",
    new MemoryChunkStore(),
    peers,
    node("x", "guess-guess-guess-guess"),
  );
  assert.equal(await code(intruder.copyChunk("b", other, ["c"], 4 << 20)), "EACCES");
  assert.equal(await code(target.readChunk(id(2), 0, 1)), "ENOENT", "a stranger copies nothing");
  access.close();
  intruder.close();
});
