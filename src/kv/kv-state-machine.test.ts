import assert from "node:assert/strict";
import { test } from "node:test";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import type { Entry } from "../raft/node.ts";
import { encodeKvCommand } from "./kv-command.ts";
import { LmdbKvStateMachine } from "./kv-state-machine.ts";

const tempDir = temporaryDirectories("sandstore-kv-");
async function machine(): Promise<LmdbKvStateMachine> {
  const dir = await tempDir("sandstore-kv-");
  return new LmdbKvStateMachine(dir);
}
const set = (index: number, key: string, value: string): Entry => ({
  index,
  term: 1,
  type: 0,
  data: encodeKvCommand({ op: "set", key: Buffer.from(key), value: Buffer.from(value) }),
});
const del = (index: number, key: string): Entry => ({
  index,
  term: 1,
  type: 0,
  data: encodeKvCommand({ op: "delete", key: Buffer.from(key) }),
});

test("applies in order with the applied index; replayed entries change nothing", async () => {
  const m = await machine();
  assert.deepEqual(m.apply([set(1, "a", "1"), set(2, "b", "2"), del(3, "a")]), ["OK", "OK", "OK"]);
  assert.equal(m.appliedIndex(), 3);
  assert.deepEqual(m.apply([set(2, "b", "stale"), set(3, "a", "stale")]), [undefined, undefined]);
  assert.equal(m.get(Buffer.from("b"))?.toString(), "2");
  assert.equal(m.get(Buffer.from("a")), undefined);
  assert.deepEqual(
    m.apply([{ index: 4, term: 2, type: 0, data: new Uint8Array() }]),
    [undefined],
    "the leader's no-op",
  );
  assert.equal(m.appliedIndex(), 4);
  await m.close();
});

test("a snapshot streams out and restores into another store exactly, replacing what it had", async () => {
  const source = await machine();
  const entries = Array.from({ length: 3000 }, (_, i) =>
    set(i + 1, `key-${i}`, `value ${i} ${"x".repeat(i % 50)}`),
  );
  source.apply(entries);
  source.apply([set(3001, "binary\u0000key", "v")]);
  const snap = await source.snapshot();
  assert.equal(snap.index, 3001);
  const parts: Buffer[] = [];
  for await (const chunk of snap.chunks) parts.push(Buffer.from(chunk));
  const bytes = Buffer.concat(parts);
  assert.equal(bytes.length, snap.size);
  const target = await machine();
  target.apply([set(1, "only-in-target", "gone after restore")]);
  await target.restore(
    { index: 3001, term: 1, conf: { voters: [], learners: [] }, size: snap.size },
    async (offset, length) => bytes.subarray(offset, offset + length),
  );
  assert.equal(target.appliedIndex(), 3001);
  assert.equal(target.count(), 3001);
  assert.equal(
    target.get(Buffer.from("key-2999"))?.toString(),
    source.get(Buffer.from("key-2999"))?.toString(),
  );
  assert.equal(target.get(Buffer.from("binary\u0000key"))?.toString(), "v");
  assert.equal(target.get(Buffer.from("only-in-target")), undefined);
  await source.close();
  await target.close();
});
