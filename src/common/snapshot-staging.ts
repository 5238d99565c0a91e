/**
 * Staging a snapshot: records are written to a file first, so the snapshot's size is known
 * before it is sent, then streamed from the file, which is removed once read.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";

/** Bytes gathered before one write to the staging file. */
const WRITE_BYTES = 1024 * 1024;

/**
 * Writes `records` to a new file under `dir` (named with `prefix` and a random suffix, so
 * stores sharing a directory never collide) and returns its size and a stream of its bytes.
 */
export async function stageSnapshot(
  dir: string,
  prefix: string,
  records: Iterable<Uint8Array>,
): Promise<{ size: number; chunks: AsyncIterable<Uint8Array> }> {
  const path = join(dir, `${prefix}-${randomBytes(6).toString("hex")}.tmp`);
  const file = await open(path, "w");
  let size = 0;
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  const flush = async () => {
    const bytes = Buffer.concat(batch, batchBytes);
    await file.write(bytes, 0, bytes.length, size);
    size += bytes.length;
    batch = [];
    batchBytes = 0;
  };
  try {
    for (const record of records) {
      batch.push(record);
      batchBytes += record.length;
      if (batchBytes >= WRITE_BYTES) await flush();
    }
    await flush();
  } finally {
    await file.close();
  }
  const chunks = (async function* () {
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: WRITE_BYTES }))
        yield chunk as Buffer;
    } finally {
      await rm(path, { force: true });
    }
  })();
  return { size, chunks };
}
