/**
 * The file workloads the benchmarks run against any cluster through the SDK: sequential write
 * and read of one large file, and creates per second from one or many concurrent callers.
 * Each returns a rate; the callers print them.
 */
import { O_CREAT, O_EXCL, O_RDONLY, O_WRONLY, type SandstoreClient } from "../src/index.ts";

const MiB = 1024 * 1024;

/** Writes `sizeMiB` MiB to `path` in 4 MiB calls, durable at close; returns MiB/s. */
export async function sequentialWrite(
  client: SandstoreClient,
  path: string,
  sizeMiB: number,
): Promise<number> {
  const block = Buffer.alloc(4 * MiB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
  const started = performance.now();
  const fd = await client.open(path, O_CREAT | O_WRONLY);
  for (let written = 0; written < sizeMiB * MiB; written += block.length) {
    block.writeUInt32LE(written, 0);
    await client.write(fd, block);
  }
  await client.close(fd);
  return sizeMiB / ((performance.now() - started) / 1000);
}

/** Reads `path` whole in 8 MiB calls; returns MiB/s. Throws unless it is `sizeMiB` long. */
export async function sequentialRead(
  client: SandstoreClient,
  path: string,
  sizeMiB: number,
): Promise<number> {
  const started = performance.now();
  const fd = await client.open(path, O_RDONLY);
  let read = 0;
  for (;;) {
    const bytes = await client.read(fd, 8 * MiB);
    if (bytes.length === 0) break;
    read += bytes.length;
  }
  await client.close(fd);
  if (read !== sizeMiB * MiB)
    throw new Error(`read ${read} bytes of ${path}, wrote ${sizeMiB * MiB}`);
  return sizeMiB / ((performance.now() - started) / 1000);
}

/**
 * Creates empty files (open O_CREAT|O_EXCL, close) under `dir` from `callers` concurrent
 * callers for `seconds`; returns creates per second. Returns the names made, for stats.
 */
export async function creates(
  client: SandstoreClient,
  dir: string,
  callers: number,
  seconds: number,
): Promise<{ perSecond: number; names: string[] }> {
  const names: string[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let i = 0; performance.now() - started < seconds * 1000; i++) {
        const name = `${dir}/c${callers}-${caller}-${i}`;
        const fd = await client.open(name, O_CREAT | O_EXCL | O_WRONLY);
        await client.close(fd);
        names.push(name);
      }
    }),
  );
  return { perSecond: names.length / ((performance.now() - started) / 1000), names };
}

/** Prints `name  value` lines, aligned. */
export function printFigures(results: Record<string, string>): void {
  const width = Math.max(...Object.keys(results).map((k) => k.length));
  for (const [name, value] of Object.entries(results))
    console.log(`${name.padEnd(width)}  ${value}`);
}
