import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { open, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import { SandstoreError } from "../common/errors.ts";
import { CHUNK_BLOCK_SIZE, headerLength } from "./chunk-format.ts";
import type { ChunkStore } from "./chunk-store.ts";
import { DiskChunkStore } from "./disk-chunk-store.ts";
import { MemoryChunkStore } from "./memory-chunk-store.ts";

const tempDir = temporaryDirectories("sandstore-chunks-");

const id = (n: number) => n.toString(16).padStart(32, "0");

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<SandstoreError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SandstoreError, `expected SandstoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

const kinds: Array<[string, () => Promise<ChunkStore>]> = [
  ["disk", async () => DiskChunkStore.open(await tempDir())],
  ["memory", async () => new MemoryChunkStore()],
];

for (const [kind, open] of kinds) {
  describe(`${kind} chunk store`, () => {
    test("ranged reads return exactly the bytes asked for, shortened at the end", async () => {
      const store = await open();
      const data = randomBytes(3 * CHUNK_BLOCK_SIZE + 123);
      const info = await store.writeChunk(id(1), data);
      assert.equal(info.size, data.length);
      for (const [offset, length] of [
        [0, data.length],
        [1, 10],
        [CHUNK_BLOCK_SIZE - 5, 10],
        [2 * CHUNK_BLOCK_SIZE, CHUNK_BLOCK_SIZE + 123],
        [data.length - 1, 100],
        [data.length, 10],
        [data.length + 50, 10],
      ] as const) {
        const got = await store.readChunk(id(1), offset, length);
        assert.deepEqual(
          got,
          data.subarray(offset, Math.min(offset + length, data.length)),
          `range ${offset}+${length}`,
        );
      }
      assert.deepEqual(await store.readChunk(id(2), 0, 0).catch((e) => e.code), "ENOENT");
      await store.close();
    });

    test("ids are validated, chunks are immutable, delete is idempotent", async () => {
      const store = await open();
      for (const bad of [
        "../../etc/passwd",
        "ABCDEF",
        id(1).toUpperCase().replace("1", "G"),
        "",
        `${id(1)}/x`,
      ]) {
        await rejectsWith(store.writeChunk(bad, Buffer.from("x")), "EINVAL");
        await rejectsWith(store.readChunk(bad, 0, 1), "EINVAL");
      }
      await store.writeChunk(id(7), Buffer.from("first"));
      await rejectsWith(store.writeChunk(id(7), Buffer.from("second")), "EEXIST");
      assert.equal((await store.readChunk(id(7), 0, 100)).toString(), "first");
      assert.deepEqual(store.usage(), { chunks: 1, bytes: 5 });
      assert.deepEqual(
        (await store.listChunks()).map((c) => c.id),
        [id(7)],
      );
      await store.deleteChunk(id(7));
      await store.deleteChunk(id(7));
      assert.deepEqual(store.usage(), { chunks: 0, bytes: 0 });
      await rejectsWith(store.readChunk(id(7), 0, 1), "ENOENT");
      await store.close();
    });
  });
}

/** Flips one bit of the byte at `position` in the file at `path`; returns the byte it held. */
async function flipByte(path: string, position: number): Promise<Buffer> {
  const file = await open(path, "r+");
  try {
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, position);
    await file.write(Buffer.from([byte.readUInt8(0) ^ 0x40]), 0, 1, position);
    return byte;
  } finally {
    await file.close();
  }
}

test("disk: a flipped byte anywhere fails the read with EIO naming the chunk, file and offset, and is reported", async () => {
  const dir = await tempDir();
  const reported: string[] = [];
  const store = await DiskChunkStore.open(dir, { onDamaged: (e) => reported.push(e.message) });
  const data = randomBytes(2 * CHUNK_BLOCK_SIZE + 10);
  await store.writeChunk(id(3), data);
  const path = join(dir, id(3).slice(0, 2), id(3));
  const header = headerLength(data.length);
  for (const position of [
    0,
    10,
    header - 1,
    header,
    header + CHUNK_BLOCK_SIZE + 7,
    header + data.length - 1,
  ]) {
    const byte = await flipByte(path, position);
    const error = await rejectsWith(store.readChunk(id(3), 0, data.length), "EIO");
    assert.match(error.message, new RegExp(id(3)));
    assert.match(error.message, /at offset \d+/);
    assert.equal(reported.at(-1), error.message, "onDamaged hears of every damaged read");
    const restore = await open(path, "r+");
    await restore.write(byte, 0, 1, position);
    await restore.close();
  }
  // Damage in a block the read does not touch does not fail it: verification is per block.
  // The byte is flipped, not overwritten with a constant: random data holds that constant
  // there once in 256 runs, and then nothing would be damaged.
  await flipByte(path, header + 2 * CHUNK_BLOCK_SIZE + 1);
  assert.deepEqual(await store.readChunk(id(3), 0, 100), data.subarray(0, 100));
  await rejectsWith(store.readChunk(id(3), 2 * CHUNK_BLOCK_SIZE, 5), "EIO");
});

test("disk: a truncated chunk file is damage, not a short read", async () => {
  const dir = await tempDir();
  const store = await DiskChunkStore.open(dir);
  await store.writeChunk(id(4), randomBytes(1000));
  const file = await open(join(dir, id(4).slice(0, 2), id(4)), "r+");
  await file.truncate(500);
  await file.close();
  await rejectsWith(store.readChunk(id(4), 0, 1000), "EIO");
});

test("disk: reopening counts chunks and removes leftover temporary files", async () => {
  const dir = await tempDir();
  const store = await DiskChunkStore.open(dir);
  await store.writeChunk(id(5), Buffer.alloc(10));
  await store.writeChunk(id(6), Buffer.alloc(20));
  await writeFile(join(dir, "tmp", `${id(9)}.abcd`), "half-written");
  const reopened = await DiskChunkStore.open(dir);
  assert.deepEqual(reopened.usage(), { chunks: 2, bytes: 30 });
  assert.deepEqual(await readdir(join(dir, "tmp")), []);
});
