import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import type { LogEntry } from "../metadata/metadata-store.ts";
import { encodeEntryRecord, LocalWal, WalCorruptionError } from "./local-wal.ts";

const tempDir = temporaryDirectories("sandstore-wal-");
async function walPath(): Promise<string> {
  const dir = await tempDir("sandstore-wal-");
  return join(dir, "metadata.wal");
}

const entry = (index: number): LogEntry => ({
  index,
  command: {
    command: { $case: "unlink", value: { path: `/file-${index}`, nowMs: index } },
    session: { clientId: "c", sequence: index, acknowledgedBelow: index },
    caller: undefined,
  },
});

test("entries survive a reopen in order", async () => {
  const path = await walPath();
  const { wal } = await LocalWal.open(path);
  await wal.append([1, 2, 3].map((i) => encodeEntryRecord(entry(i))));
  await wal.append([encodeEntryRecord(entry(4))]);
  await wal.close();
  const { wal: again, recovery } = await LocalWal.open(path);
  assert.deepEqual(recovery.entries, [1, 2, 3, 4].map(entry));
  assert.equal(recovery.truncatedBytes, 0);
  await again.close();
});

test("a torn tail at every byte offset of the last record is cut back to the last whole record", async () => {
  const path = await walPath();
  const whole = Buffer.concat([1, 2, 3].map((i) => encodeEntryRecord(entry(i))));
  const last = encodeEntryRecord(entry(4));
  for (let cut = 0; cut < last.length; cut++) {
    await writeFile(path, Buffer.concat([whole, last.subarray(0, cut)]));
    const { wal, recovery } = await LocalWal.open(path);
    assert.deepEqual(
      recovery.entries.map((e) => e.index),
      [1, 2, 3],
      `cut at ${cut}`,
    );
    assert.equal(recovery.truncatedBytes, cut);
    assert.equal((await stat(path)).size, whole.length, "the file is cut back");
    // Appending after recovery yields a clean log: nothing written after a torn tail is lost.
    await wal.append([encodeEntryRecord(entry(4))]);
    await wal.close();
    const reopened = await LocalWal.open(path);
    assert.deepEqual(
      reopened.recovery.entries.map((e) => e.index),
      [1, 2, 3, 4],
    );
    await reopened.wal.close();
  }
});

test("a whole last record with a flipped bit is damage, not a torn tail (wal-record's rule)", async () => {
  const path = await walPath();
  const records = [1, 2].map((i) => encodeEntryRecord(entry(i)));
  const bytes = Buffer.concat(records);
  bytes[bytes.length - 1]! ^= 0x01;
  await writeFile(path, bytes);
  await assert.rejects(
    LocalWal.open(path),
    (error) => error instanceof WalCorruptionError && error.file === path,
  );
});

test("a flipped bit in any earlier record stops the open naming the file and offset", async () => {
  const path = await walPath();
  const records = [1, 2, 3].map((i) => encodeEntryRecord(entry(i)));
  const clean = Buffer.concat(records);
  const secondStart = records[0]!.length;
  const lastStart = secondStart + records[1]!.length;
  for (let position = 0; position < lastStart; position++) {
    for (const bit of [0x01, 0x80]) {
      const bytes = Buffer.from(clean);
      bytes[position]! ^= bit;
      await writeFile(path, bytes);
      const recordStart = position < secondStart ? 0 : secondStart;
      await assert.rejects(LocalWal.open(path), (error) => {
        assert.ok(error instanceof WalCorruptionError, String(error));
        assert.equal(error.file, path);
        assert.equal(error.offset, recordStart, `flip at ${position}`);
        assert.match(error.message, new RegExp(`offset ${recordStart}`));
        return true;
      });
      assert.deepEqual(await readFile(path), bytes, "a refused log is left as it was found");
    }
  }
});
