import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { memoryPlanes, memoryRepairer } from "../../test/helpers/memory-planes.ts";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import { ChunkScrubber } from "./chunk-scrubber.ts";

const CHUNK = 64 * 1024;
const NODES = ["n1", "n2", "n3"];
const tempDir = temporaryDirectories("sandstore-scrub-");

/** One leader's planes over three in-memory chunk stores, one per node, with repair and the scrub. */
async function cluster() {
  const planes = await memoryPlanes({ dir: await tempDir(), nodes: NODES, chunkSize: CHUNK });
  const { control, membership, replicas, data, stores, replicator } = planes;
  const repairer = memoryRepairer(planes);
  const scrubber = new ChunkScrubber({
    control,
    membership,
    replicas,
    repair: (inodeId, slot, states) => repairer.repairCopies(inodeId, slot, states),
    intervalMs: 3_600_000,
    bytesPerSecond: 1024 * 1024 * 1024,
  });
  const file = await control.create("/f", { mode: 0o644, exclusive: true, truncate: false });
  const bytes = randomBytes(CHUNK);
  await data.writeRange(file.id, 0, 0, bytes, "/f");
  const [first] = await control.scanChunkSlots(undefined, 1);
  assert.ok(first);
  const slot = first.slot;
  return { stores, scrubber, repairer, slot, bytes, control, replicator };
}

test("the scrub finds a copy damaged where it lies, with no read, and repair rewrites it", async () => {
  const c = await cluster();
  c.stores.get("n2")!.damage(c.slot.chunkId, 100);
  assert.equal(await c.scrubber.scrubPass(), 1);
  assert.deepEqual(await c.stores.get("n2")!.readChunk(c.slot.chunkId, 0, CHUNK), c.bytes);
  const progress = c.scrubber.progress();
  assert.equal(progress.passes, 1);
  assert.equal(progress.damagedTotal, 1);
  assert.equal(progress.unrecoverable, 0);
  assert.equal(progress.copiesTotal, 2, "the two good copies verified");
  assert.equal(c.repairer.progress().repairedTotal, 1);
  assert.equal(await c.scrubber.scrubPass(), 0, "a second pass finds every copy good");
  assert.equal(c.scrubber.progress().copiesTotal, 5);
  assert.equal(c.scrubber.progress().bytesTotal, 5 * CHUNK);
  await c.replicator.stop();
});

test("the scrub checks a copy against the checksum metadata holds, not only its own", async () => {
  const c = await cluster();
  // A copy that is whole by its store's own checksums but holds other bytes.
  const n3 = c.stores.get("n3")!;
  await n3.deleteChunk(c.slot.chunkId);
  await n3.writeChunk(c.slot.chunkId, randomBytes(CHUNK));
  assert.equal(await c.scrubber.scrubPass(), 1);
  assert.deepEqual(await n3.readChunk(c.slot.chunkId, 0, CHUNK), c.bytes);
  await c.replicator.stop();
});

test("a missing copy is found and replaced", async () => {
  const c = await cluster();
  await c.stores.get("n1")!.deleteChunk(c.slot.chunkId);
  assert.equal(await c.scrubber.scrubPass(), 1);
  assert.deepEqual(await c.stores.get("n1")!.readChunk(c.slot.chunkId, 0, CHUNK), c.bytes);
  await c.replicator.stop();
});

test("when every copy is damaged the slot is counted unrecoverable and no copy is touched", async () => {
  const c = await cluster();
  for (const store of c.stores.values()) store.damage(c.slot.chunkId, 7);
  assert.equal(await c.scrubber.scrubPass(), 3);
  assert.equal(c.scrubber.progress().unrecoverable, 1);
  const [after] = await c.control.scanChunkSlots(undefined, 1);
  assert.deepEqual(after?.slot.replicas, c.slot.replicas, "the replica list is unchanged");
  for (const store of c.stores.values())
    assert.equal((await store.listChunks()).length, 1, "the damaged copies are kept");
  assert.equal(c.repairer.progress().failuresTotal, 0);
  await c.replicator.stop();
});
