import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { temporaryDirectories } from "../../../test/helpers/temp-dirs.ts";
import type { Entry } from "../core/types.ts";
import { DiskStorage } from "./disk-storage.ts";
import { WalCorruptionError } from "./wal-record.ts";

const tempDir = temporaryDirectories("sandstore-raft-");
const conf = { voters: ["a", "b", "c"], learners: [] };
const entry = (index: number, term = 1, size = 10): Entry => ({
  index,
  term,
  type: 0,
  data: new Uint8Array(size).fill(index % 251),
});
const range = (from: number, to: number, term = 1) =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));

async function reopen(dir: string, segmentBytes?: number) {
  const storage = new DiskStorage({ dir, initialConf: conf, segmentBytes });
  const state = await storage.open();
  return { storage, state };
}

test("entries and hard state survive a reopen; a new store starts empty with its members", async () => {
  const dir = await tempDir();
  const { storage, state } = await reopen(dir);
  assert.deepEqual(state.hardState, { term: 0, vote: "", commit: 0 });
  assert.deepEqual(state.snapshot.conf, conf);
  await storage.append(range(1, 5), { term: 2, vote: "b", commit: 3 });
  await storage.close();
  const again = await reopen(dir);
  assert.deepEqual(again.state.hardState, { term: 2, vote: "b", commit: 3 });
  assert.deepEqual(
    again.state.entries.map((e) => [e.index, e.term]),
    range(1, 5).map((e) => [e.index, e.term]),
  );
  assert.deepEqual(Buffer.from(again.state.entries[2]!.data), Buffer.from(entry(3).data));
  await again.storage.close();
});

test("an append at an earlier index replaces the stored tail", async () => {
  const dir = await tempDir();
  const { storage } = await reopen(dir);
  await storage.append(range(1, 10, 1), { term: 1, vote: "a", commit: 2 });
  await storage.append(range(6, 7, 3), { term: 3, vote: "", commit: 2 });
  await storage.close();
  const { storage: again, state } = await reopen(dir);
  assert.deepEqual(
    state.entries.map((e) => `${e.index}:${e.term}`),
    ["1:1", "2:1", "3:1", "4:1", "5:1", "6:3", "7:3"],
  );
  await again.close();
});

test("a torn tail at every byte of the last record is cut back and later appends are kept", async () => {
  const dir = await tempDir();
  const { storage } = await reopen(dir);
  await storage.append(range(1, 3), { term: 1, vote: "a", commit: 1 });
  await storage.close();
  const wal = join(dir, "wal", (await readdir(join(dir, "wal")))[0]!);
  const whole = await readFile(wal);
  const { storage: s2 } = await reopen(dir);
  await s2.append([entry(4)], undefined);
  await s2.close();
  const withLast = await readFile(wal);
  const lastRecord = withLast.length - whole.length;
  for (let cut = 0; cut < lastRecord; cut++) {
    await writeFile(wal, withLast.subarray(0, whole.length + cut));
    const { storage: s, state } = await reopen(dir);
    assert.deepEqual(
      state.entries.map((e) => e.index),
      [1, 2, 3],
      `cut at ${cut}`,
    );
    assert.equal(state.truncatedBytes, cut);
    assert.equal(state.truncatedSegment, cut > 0 ? wal : undefined, "the cut file is named");
    assert.equal((await stat(wal)).size, whole.length);
    await s.append([entry(4, 2)], undefined);
    await s.close();
    const { storage: s3, state: after } = await reopen(dir);
    assert.deepEqual(
      after.entries.map((e) => `${e.index}:${e.term}`),
      ["1:1", "2:1", "3:1", "4:2"],
    );
    await s3.close();
  }
});

test("a flipped bit in any record, the last included, stops the open, naming the file and the offset", async () => {
  const dir = await tempDir();
  const { storage } = await reopen(dir);
  for (let i = 1; i <= 3; i++)
    await storage.append([entry(i)], { term: 1, vote: "a", commit: i - 1 });
  await storage.close();
  const wal = join(dir, "wal", (await readdir(join(dir, "wal")))[0]!);
  const clean = await readFile(wal);
  // The last record too: a whole record with a flipped bit is damage, not a torn write.
  for (let position = 0; position < clean.length; position++) {
    const bytes = Buffer.from(clean);
    bytes[position]! ^= 0x10;
    await writeFile(wal, bytes);
    await assert.rejects(reopen(dir), (error) => {
      assert.ok(error instanceof WalCorruptionError, `flip at ${position}: ${String(error)}`);
      assert.equal(error.file, wal);
      assert.ok(error.offset <= position && error.message.includes(`offset ${error.offset}`));
      return true;
    });
  }
});

test("segments rotate, and those a snapshot covers are deleted; restart reads only what follows", async () => {
  const dir = await tempDir();
  const { storage } = await reopen(dir, 2048);
  for (let i = 1; i <= 400; i += 10)
    await storage.append(range(i, i + 9), { term: 1, vote: "a", commit: i + 9 });
  const before = (await readdir(join(dir, "wal"))).length;
  assert.ok(before > 5, `${before} segments`);
  const data = Buffer.from("state machine at 390");
  const writer = await storage.beginSnapshot({ index: 390, term: 1, conf, size: data.length });
  await writer.write(data.subarray(0, 5));
  await writer.write(data.subarray(5));
  await writer.commit();
  const afterNames = await readdir(join(dir, "wal"));
  assert.ok(afterNames.length <= 2, `${afterNames.length} segments left of ${before}`);
  let walBytes = 0;
  for (const name of afterNames) walBytes += (await stat(join(dir, "wal", name))).size;
  assert.ok(walBytes < 2048 * 2, `${walBytes} bytes of log left to replay`);
  assert.deepEqual(await storage.readSnapshot(0, 100), data);
  assert.deepEqual(await storage.readSnapshot(8, 4), data.subarray(8, 12));
  await storage.close();
  const { state, storage: again } = await reopen(dir, 2048);
  assert.equal(state.snapshot.index, 390);
  assert.deepEqual(
    state.entries.map((e) => e.index),
    range(391, 400).map((e) => e.index),
  );
  assert.equal(state.hardState.commit, 400);
  await again.close();
});

test("a damaged snapshot file is named at open, never used", async () => {
  const dir = await tempDir();
  const { storage } = await reopen(dir);
  await storage.append(range(1, 5), { term: 1, vote: "a", commit: 5 });
  const data = Buffer.from("snapshot data");
  const writer = await storage.beginSnapshot({ index: 5, term: 1, conf, size: data.length });
  await writer.write(data);
  await writer.commit();
  await storage.close();
  const name = (await readdir(join(dir, "snap")))[0]!;
  const path = join(dir, "snap", name);
  const bytes = await readFile(path);
  bytes[bytes.length - 2]! ^= 1;
  await writeFile(path, bytes);
  await assert.rejects(
    reopen(dir),
    (error) => error instanceof WalCorruptionError && error.file === path,
  );
});

test("a last record with a lost sector (zeros) is a torn write: cut, and the records before it kept", async () => {
  const dir = await tempDir();
  const { storage } = await reopen(dir);
  await storage.append(range(1, 3), { term: 1, vote: "a", commit: 2 });
  await storage.append([entry(4, 1, 3000)], undefined);
  await storage.close();
  const wal = join(dir, "wal", (await readdir(join(dir, "wal")))[0]!);
  const bytes = await readFile(wal);
  const lastStart = bytes.length - (9 + 3000 + 16);
  const sector = (Math.floor(lastStart / 512) + 2) * 512;
  bytes.fill(0, sector, sector + 512);
  await writeFile(wal, bytes);
  const { storage: s2, state } = await reopen(dir);
  assert.deepEqual(
    state.entries.map((e) => e.index),
    [1, 2, 3],
  );
  assert.equal(state.truncatedSegment, wal);
  assert.ok(state.truncatedBytes > 3000);
  await s2.close();
});
