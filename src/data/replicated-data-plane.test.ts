import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import { memoryPlanes } from "../../test/helpers/memory-planes.ts";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import { SandstoreError } from "../common/errors.ts";
import { waitFor } from "../common/wait-for.ts";
import { MAX_INLINE_SLOT_BYTES } from "../metadata/metadata-store.ts";
import { GarbageCollector } from "./garbage-collector.ts";
import { localReplicaAccess, type ReplicaAccess } from "./replica-access.ts";

const CHUNK = 64 * 1024;
const tempDir = temporaryDirectories("sandstore-dp-");
/** `text` repeated past the inline limit: a write of it goes to a chunk. */
const chunkSized = (text: string) => Buffer.alloc(MAX_INLINE_SLOT_BYTES + 1, text);

/** One node's planes in memory, with a replica access the test can wrap. */
async function plane(wrap: (access: ReplicaAccess) => ReplicaAccess = (a) => a) {
  const planes = await memoryPlanes({
    dir: await tempDir("sandstore-dp-"),
    nodes: ["n1"],
    chunkSize: CHUNK,
    wrap,
  });
  const { store, control, data, replicator } = planes;
  const chunks = planes.stores.get("n1")!;
  const file = await control.create("/f", { mode: 0o644, exclusive: true, truncate: false });
  const read = async (offset: number, length: number) => {
    const parts: Buffer[] = [];
    for await (const piece of data.readRange(file.id, offset, length, "/f")) parts.push(piece);
    return Buffer.concat(parts);
  };
  const write = (offset: number, bytes: Buffer) => {
    const slot = Math.floor(offset / CHUNK);
    return data.writeRange(file.id, slot, offset - slot * CHUNK, bytes, "/f");
  };
  return { store, control, chunks, data, file, read, write, replicator };
}

test("property: any sequence of in-slot writes and truncates reads back like a plain buffer", async () => {
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("write" as const),
      offset: fc.nat(4 * CHUNK),
      length: fc.integer({ min: 1, max: CHUNK }),
    }),
    fc.record({ kind: fc.constant("truncate" as const), size: fc.nat(5 * CHUNK) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
      const p = await plane();
      let model = Buffer.alloc(0);
      for (const o of ops) {
        if (o.kind === "truncate") {
          await p.control.setAttr("/f", { size: o.size });
          const next = Buffer.alloc(o.size);
          model.copy(next, 0, 0, Math.min(o.size, model.length));
          model = next;
          continue;
        }
        // Keep each write inside one slot, as the SDK sends them.
        const inSlot = o.offset % CHUNK;
        const length = Math.min(o.length, CHUNK - inSlot);
        const bytes = randomBytes(length);
        await p.write(o.offset, bytes);
        if (model.length < o.offset + length) {
          const grown = Buffer.alloc(o.offset + length);
          model.copy(grown);
          model = grown;
        }
        bytes.copy(model, o.offset);
      }
      assert.equal((await p.control.stat("/f")).size, model.length);
      assert.deepEqual(await p.read(0, model.length + 100), model);
      const from = Math.floor(model.length / 3);
      assert.deepEqual(await p.read(from, CHUNK + 7), model.subarray(from, from + CHUNK + 7));
      await p.replicator.stop();
    }),
    { numRuns: 40 },
  );
});

test("small writes are held in the metadata; one that outgrows the limit moves the slot to a chunk", async () => {
  const p = await plane();
  await p.write(0, Buffer.from("head"));
  await p.write(CHUNK + 5, Buffer.from("second slot"));
  assert.deepEqual(await p.chunks.listChunks(), [], "no chunk written for small slots");
  assert.equal((await p.read(0, 4)).toString(), "head");
  assert.equal((await p.read(CHUNK + 5, 100)).toString(), "second slot");
  const tail = randomBytes(MAX_INLINE_SLOT_BYTES);
  await p.write(4, tail);
  const [slot] = p.store.chunkSlots(p.file.id, 0, 1);
  assert.equal(slot!.inlineData, undefined, "the slot outgrew the limit");
  assert.equal((await p.chunks.listChunks()).length, 1);
  assert.deepEqual(await p.read(0, 4 + tail.length), Buffer.concat([Buffer.from("head"), tail]));
  await p.write(0, Buffer.from("HEAD"));
  assert.equal((await p.read(0, 4)).toString(), "HEAD", "a small write into a chunk slot");
  assert.equal(p.store.chunkSlots(p.file.id, 0, 1)[0]!.inlineData, undefined);
});

test("inline bytes damaged at rest read as EIO, never wrong data", async () => {
  const p = await plane();
  await p.write(0, Buffer.from("precious"));
  const [slot] = p.store.chunkSlots(p.file.id, 0, 1);
  // The memory store hands out what it holds: this flips a bit at rest.
  const held = slot!.inlineData!;
  held[2] = held[2]! ^ 0x10;
  await assert.rejects(
    p.read(0, 8),
    (e: SandstoreError) => e.code === "EIO" && e.message.includes("checksum"),
  );
});

test("a write into a hole lands in its own slot and leaves zeros before it", async () => {
  const p = await plane();
  await p.write(3 * CHUNK + 10, Buffer.from("late"));
  assert.equal((await p.control.stat("/f")).size, 3 * CHUNK + 14);
  const all = await p.read(0, 4 * CHUNK);
  assert.equal(all.length, 3 * CHUNK + 14);
  assert.ok(all.subarray(0, 3 * CHUNK + 10).every((b) => b === 0));
  assert.equal(all.subarray(3 * CHUNK + 10).toString(), "late");
  assert.deepEqual(
    p.store.chunkSlots(p.file.id, 0, 10).map((s) => s.index),
    [3],
  );
});

test("concurrent writers of one slot serialize: every range lands whole, nothing is lost", async () => {
  const p = await plane();
  const writers = Array.from({ length: 8 }, (_, i) => p.write(i * 1000, Buffer.alloc(1000, i + 1)));
  await Promise.all(writers);
  const bytes = await p.read(0, 8000);
  for (let i = 0; i < 8; i++) {
    assert.ok(
      bytes.subarray(i * 1000, (i + 1) * 1000).every((b) => b === i + 1),
      `range of writer ${i}`,
    );
  }
  assert.equal(
    p.store.chunkSlots(p.file.id, 0, 1)[0]!.version,
    8,
    "each writer committed one version",
  );
});

test("a replica that fails the write aborts it: EAGAIN, nothing committed, no copy left", async () => {
  const p = await plane((access) => ({
    ...access,
    writeChunk: async (node, id, data) => {
      await access.writeChunk(node, id, data);
      throw new SandstoreError("EIO", `chunk ${id}`, "disk went away after the write");
    },
  }));
  await assert.rejects(p.write(0, chunkSized("x")), (e: SandstoreError) => e.code === "EIO");
  assert.equal((await p.control.stat("/f")).size, 0);
  assert.deepEqual(p.store.chunkSlots(p.file.id, 0, 1), []);
});

test("a damaged chunk is EIO naming the chunk, never wrong data", async () => {
  const p = await plane();
  await p.write(0, chunkSized("precious"));
  const [slot] = p.store.chunkSlots(p.file.id, 0, 1);
  p.chunks.damage(slot!.chunkId, 3);
  await assert.rejects(
    p.read(0, 8),
    (e: SandstoreError) => e.code === "EIO" && e.message.includes(slot!.chunkId),
  );
});

test("reads go to the nearest replica first, and to the others only when it fails", async () => {
  const readsFrom: string[] = [];
  let failLocal = false;
  // The planes are n2's; sorted placement lists n1 first in every slot.
  const planes = await memoryPlanes({
    dir: await tempDir("sandstore-dp-"),
    nodes: ["n2", "n1", "n3"],
    chunkSize: CHUNK,
    wrap: (access) => ({
      ...access,
      readChunk: async (node, id, offset, length) => {
        readsFrom.push(node);
        if (failLocal && node === "n2") throw new SandstoreError("EIO", `chunk ${id}`, "bad copy");
        return access.readChunk(node, id, offset, length);
      },
    }),
  });
  const file = await planes.control.create("/f", { mode: 0o644, exclusive: true, truncate: false });
  const bytes = randomBytes(3 * CHUNK);
  for (let slot = 0; slot < 3; slot++)
    await planes.data.writeRange(
      file.id,
      slot,
      0,
      bytes.subarray(slot * CHUNK, (slot + 1) * CHUNK),
      "/f",
    );
  assert.deepEqual(planes.store.chunkSlots(file.id, 0, 1)[0]!.replicas, ["n1", "n2", "n3"]);
  const readAll = async () => {
    const parts: Buffer[] = [];
    for await (const piece of planes.data.readRange(file.id, 0, 3 * CHUNK, "/f")) parts.push(piece);
    return Buffer.concat(parts);
  };
  assert.deepEqual(await readAll(), bytes);
  assert.deepEqual(readsFrom, ["n2", "n2", "n2"]);
  readsFrom.length = 0;
  failLocal = true;
  assert.deepEqual(await readAll(), bytes);
  // The failed copies fall over to the next replica in the slot's order (read repair also
  // reads its source there), never further.
  assert.ok(readsFrom.includes("n1"));
  assert.ok(!readsFrom.includes("n3"), `reads went to ${readsFrom.join(", ")}`);
  await planes.replicator.stop();
});

test("a read fetches pieces ahead, yet hands them over in order and stops at the first bad one", async () => {
  const p = await plane();
  const bytes = randomBytes(4 * CHUNK);
  for (let slot = 0; slot < 4; slot++)
    await p.write(slot * CHUNK, bytes.subarray(slot * CHUNK, (slot + 1) * CHUNK));
  const [, second] = p.store.chunkSlots(p.file.id, 0, 4);
  p.chunks.damage(second!.chunkId, 5);
  const got: Buffer[] = [];
  await assert.rejects(
    (async () => {
      for await (const piece of p.data.readRange(p.file.id, 0, 4 * CHUNK, "/f")) got.push(piece);
    })(),
    (e: SandstoreError) => e.code === "EIO" && e.message.includes(second!.chunkId),
  );
  assert.deepEqual(got, [bytes.subarray(0, CHUNK)], "only the piece before the bad one");
});

test("garbage collection waits for its node's metadata to be current before a pass", async () => {
  const p = await plane();
  const stray = "e".repeat(32);
  await p.chunks.writeChunk(stray, Buffer.from("unreferenced"));
  let current = false;
  let asked = 0;
  const gc = new GarbageCollector({
    replicas: localReplicaAccess("n1", p.chunks),
    nodes: () => ["n1"],
    isWanted: async () => false,
    isWriteInFlight: () => false,
    shouldRun: async () => {
      asked++;
      return current;
    },
    graceMs: 0,
    intervalMs: 5,
  });
  gc.start();
  try {
    await waitFor(() => asked >= 3, "three passes to be considered");
    assert.equal(gc.passes, 0, "a node whose metadata may lag collects nothing");
    assert.ok((await p.chunks.listChunks()).some((c) => c.id === stray));
    current = await p.control.isCurrentLeader();
    assert.equal(current, true, "a single node leads, and a barrier makes it current");
    await waitFor(() => gc.deletedTotal === 1, "the stray chunk to be collected");
  } finally {
    await gc.stop();
  }
});

test("garbage collection deletes unreferenced chunks, never referenced or in-flight ones", async () => {
  const p = await plane();
  await p.write(0, chunkSized("v1"));
  await p.write(0, chunkSized("version two"));
  await p.control.create("/g", { mode: 0o644, exclusive: true, truncate: false });
  const g = await p.control.stat("/g");
  await p.data.writeRange(g.id, 0, 0, chunkSized("doomed"), "/g");
  await p.control.unlink("/g");
  const stray = "f".repeat(32);
  await p.chunks.writeChunk(stray, Buffer.from("in flight"));
  const gc = new GarbageCollector({
    replicas: localReplicaAccess("n1", p.chunks),
    nodes: () => ["n1"],
    isWanted: async (node, id) => (await p.control.chunkReplicas(id))?.includes(node) ?? false,
    isWriteInFlight: (id) => id === stray,
    graceMs: 0,
    intervalMs: 1000,
  });
  assert.equal((await p.chunks.listChunks()).length, 4);
  assert.deepEqual(await gc.collect(), { deleted: 2, failed: 0 });
  const left = (await p.chunks.listChunks()).map((c) => c.id).sort();
  assert.deepEqual(left, [p.store.chunkSlots(p.file.id, 0, 1)[0]!.chunkId, stray].sort());
  assert.deepEqual(await p.read(0, 100), chunkSized("version two").subarray(0, 100));
  const young = new GarbageCollector({
    replicas: localReplicaAccess("n1", p.chunks),
    nodes: () => ["n1"],
    isWanted: async () => false,
    isWriteInFlight: () => false,
    graceMs: 60_000,
    intervalMs: 1000,
  });
  assert.deepEqual(
    await young.collect(),
    { deleted: 0, failed: 0 },
    "chunks inside the grace period are kept",
  );
});
