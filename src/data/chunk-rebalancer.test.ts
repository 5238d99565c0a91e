import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { memoryPlanes, memoryRepairer } from "../../test/helpers/memory-planes.ts";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import { ChunkRebalancer } from "./chunk-rebalancer.ts";

const CHUNK = 64 * 1024;
const tempDir = temporaryDirectories("sandstore-rebalance-");

/**
 * Four nodes, R = 2, sorted placement: every chunk of the files written lands on n1 and n2,
 * leaving n3 and n4 empty, as after a cluster grew from two data servers to four.
 */
async function grownCluster(slots: number) {
  const planes = await memoryPlanes({
    dir: await tempDir(),
    nodes: ["n1", "n2", "n3", "n4"],
    chunkSize: CHUNK,
    replicationFactor: 2,
  });
  const { control, membership, data, stores } = planes;
  const repairer = memoryRepairer(planes);
  const rebalancer = new ChunkRebalancer({
    control,
    membership,
    draining: () => control.drainingNodes(),
    moveCopy: (inodeId, slot, from, to) => repairer.moveCopy(inodeId, slot, from, to),
  });
  const file = await control.create("/f", { mode: 0o644, exclusive: true, truncate: false });
  const contents = randomBytes(slots * CHUNK);
  for (let i = 0; i < slots; i++)
    await data.writeRange(file.id, i, 0, contents.subarray(i * CHUNK, (i + 1) * CHUNK), "/f");
  const readBack = async () => {
    const pieces: Buffer[] = [];
    for await (const piece of data.readRange(file.id, 0, contents.length, "/f")) pieces.push(piece);
    return Buffer.concat(pieces);
  };
  /** Every slot's replicas: R distinct nodes, each holding the chunk. */
  const checkCopies = async (exclude: readonly string[] = []) => {
    for (const { slot } of await control.scanChunkSlots(undefined, 1000)) {
      assert.equal(new Set(slot.replicas).size, 2, `slot ${slot.index}: ${slot.replicas}`);
      for (const id of slot.replicas) {
        assert.ok(!exclude.includes(id), `slot ${slot.index} still lists ${id}`);
        assert.ok(
          (await stores.get(id)?.listChunks())?.some((chunk) => chunk.id === slot.chunkId),
          `${id} holds slot ${slot.index}'s chunk`,
        );
      }
    }
  };
  return { planes, control, repairer, rebalancer, contents, readBack, checkCopies };
}

test("a rebalance evens out the bytes per server, within the tolerance, paced in steps", async () => {
  const c = await grownCluster(16);
  const step = { maxBytes: 4 * CHUNK, bytesPerSecond: 1024 * 1024 * 1024, tolerancePercent: 10 };
  const first = await c.rebalancer.step(step);
  assert.equal(first.moved, 4, "a step moves no more than its budget");
  assert.equal(first.balanced, false);
  let last = first;
  for (let i = 0; i < 20 && !last.balanced; i++) last = await c.rebalancer.step(step);
  assert.ok(last.balanced, "balanced within 20 steps");
  const held = last.servers.map((server) => server.bytes);
  assert.deepEqual(
    last.servers.map((s) => s.nodeId),
    ["n1", "n2", "n3", "n4"],
  );
  // 32 copies of 64 KiB over four servers: eight each.
  assert.deepEqual(
    held,
    [8, 8, 8, 8].map((n) => n * CHUNK),
  );
  await c.checkCopies();
  assert.deepEqual(await c.readBack(), c.contents);
  const again = await c.rebalancer.step(step);
  assert.equal(again.moved, 0, "a balanced cluster moves nothing");
  assert.ok(again.balanced);
  await assert.rejects(c.rebalancer.step({ ...step, maxBytes: 0 }), RangeError);
  await c.planes.stop();
});

test("a drained server's copies move to the others; it gets no new chunk; cancelling lets it take chunks again", async () => {
  const c = await grownCluster(6);
  await c.control.setDraining("n1", true);
  assert.deepEqual(c.control.drainingNodes(), ["n1"]);
  assert.equal(c.repairer.progress().drainCopiesLeft.get("n1"), 0, "no pass has counted yet");
  await c.repairer.repairPass();
  await c.checkCopies(["n1"]);
  assert.equal(c.repairer.progress().drainCopiesLeft.get("n1"), 0);
  assert.deepEqual(await c.readBack(), c.contents);
  // New chunks avoid it.
  const file = await c.control.create("/g", { mode: 0o644, exclusive: true, truncate: false });
  await c.planes.data.writeRange(file.id, 0, 0, randomBytes(CHUNK), "/g");
  await c.checkCopies(["n1"]);
  // A rebalance leaves it out.
  const step = await c.rebalancer.step({
    maxBytes: 64 * CHUNK,
    bytesPerSecond: 1024 * 1024 * 1024,
    tolerancePercent: 10,
  });
  assert.deepEqual(
    step.servers.map((s) => s.nodeId),
    ["n2", "n3", "n4"],
  );
  await c.checkCopies(["n1"]);
  await c.control.setDraining("n1", false);
  assert.deepEqual(c.control.drainingNodes(), []);
  await assert.rejects(c.control.setDraining("bad id!", true), { code: "EINVAL" });
  await c.planes.stop();
});
