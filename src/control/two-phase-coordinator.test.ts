import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { memoryPlanes } from "../../test/helpers/memory-planes.ts";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import { fsError, type SandstoreError } from "../common/errors.ts";
import type { ReplicaAccess } from "../data/replica-access.ts";

const CHUNK = 64 * 1024;
const tempDir = temporaryDirectories("sandstore-2pc-");

/**
 * Planes over nodes n1..n3 and a file `/f`; a copy to a node fails EAGAIN (unreachable)
 * unless `reachable(nodeId, connectWaitMs)`. Every attempt is recorded.
 */
async function planesWhere(reachable: (nodeId: string, connectWaitMs: number) => boolean) {
  const attempts: Array<{ nodeId: string; connectWaitMs: number }> = [];
  const planes = await memoryPlanes({
    dir: await tempDir(),
    nodes: ["n1", "n2", "n3"],
    chunkSize: CHUNK,
    wrap: (access): ReplicaAccess => ({
      ...access,
      writeChunk: async (nodeId, chunkId, data, connectWaitMs = 0) => {
        attempts.push({ nodeId, connectWaitMs });
        if (!reachable(nodeId, connectWaitMs))
          throw fsError("EAGAIN", "", `node ${nodeId} unavailable`);
        return access.writeChunk(nodeId, chunkId, data);
      },
    }),
  });
  const file = await planes.control.create("/f", {
    mode: 0o644,
    exclusive: true,
    truncate: false,
  });
  const write = () => planes.data.writeRange(file.id, 0, 0, randomBytes(CHUNK), "/f");
  const replicas = async () =>
    (await planes.control.scanChunkSlots(undefined, 1))[0]?.slot.replicas.toSorted();
  return { ...planes, attempts, write, replicas };
}

test("short of W, unreachable targets get one more try that waits for a connection", async () => {
  // n3 is down; n2 came back a moment ago and its channel is still in reconnect backoff.
  const p = await planesWhere((id, wait) => id === "n1" || (id === "n2" && wait > 0));
  await p.write();
  assert.deepEqual(await p.replicas(), ["n1", "n2"]);
  const patient = p.attempts.filter((a) => a.connectWaitMs > 0).map((a) => a.nodeId);
  assert.deepEqual(patient.toSorted(), ["n2", "n3"], "only the failed targets, patiently");
  await p.stop();
});

test("a write that reaches W in the first round does not wait on a dead target", async () => {
  const p = await planesWhere((id) => id !== "n3");
  await p.write();
  assert.deepEqual(await p.replicas(), ["n1", "n2"]);
  assert.ok(
    p.attempts.every((a) => a.connectWaitMs === 0),
    "no patient retry",
  );
  await p.stop();
});

test("a write still short of W after the retry fails EAGAIN naming every failed copy and keeps nothing", async () => {
  const p = await planesWhere((id) => id === "n1");
  await assert.rejects(p.write(), (error: SandstoreError) => {
    assert.equal(error.code, "EAGAIN");
    assert.match(error.message, /1 of 2 chunk copies durable/);
    assert.match(error.message, /n2: .*node n2 unavailable/);
    assert.match(error.message, /n3: .*node n3 unavailable/);
    return true;
  });
  assert.equal(await p.replicas(), undefined, "nothing committed");
  assert.equal(p.stores.get("n1")!.usage().chunks, 0, "the one durable copy was discarded");
  await p.stop();
});

test("a commit the metadata refuses discards the durable copies at once; an unknown outcome keeps them", async () => {
  for (const [refusal, kept] of [
    ["EACCES", 0],
    ["ETIMEDOUT", 2],
  ] as const) {
    const p = await planesWhere((id) => id !== "n3");
    p.control.commitWrite = async () => {
      throw fsError(refusal, "/f", "the commit");
    };
    await assert.rejects(p.write(), (error: SandstoreError) => error.code === refusal);
    const copies = ["n1", "n2"].reduce(
      (sum, id) => sum + (p.stores.get(id)?.usage().chunks ?? 0),
      0,
    );
    assert.equal(copies, kept, `after ${refusal}`);
    await p.stop();
  }
});
