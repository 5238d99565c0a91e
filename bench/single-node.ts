/**
 * Figures for the single topology, against a real node process on 127.0.0.1:
 * 1 GiB sequential write and read through the SDK (MiB/s), creates per second with one
 * client (open O_CREAT|O_EXCL + close), stats per second, and peak resident memory.
 *
 *   npm run bench -- [--size-mib 1024] [--seconds 5]
 *
 * fsync is unusually cheap on some machines: compare figures from one run with each other,
 * not with another machine's.
 */
import { parseArgs } from "node:util";
import { connect, O_CREAT, O_EXCL, O_RDONLY, O_WRONLY } from "../src/index.ts";
import { peakResidentBytes } from "../test/helpers/memory.ts";
import { removeDataDir, startNode } from "../test/helpers/node-process.ts";

const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    seconds: { type: "string", default: "5" },
  },
});
const sizeMiB = Number(values["size-mib"]);
const seconds = Number(values.seconds);
const MiB = 1024 * 1024;

const node = await startNode();
const client = connect(node.address);
const results: Record<string, string> = {};
try {
  const block = Buffer.alloc(4 * MiB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);

  let started = performance.now();
  const w = await client.open("/bench.bin", O_CREAT | O_WRONLY);
  for (let written = 0; written < sizeMiB * MiB; written += block.length) {
    block.writeUInt32LE(written, 0);
    await client.write(w, block);
  }
  await client.close(w);
  const writeSeconds = (performance.now() - started) / 1000;
  results[`sequential write ${sizeMiB} MiB (durable at close)`] =
    `${(sizeMiB / writeSeconds).toFixed(0)} MiB/s`;

  started = performance.now();
  const r = await client.open("/bench.bin", O_RDONLY);
  let read = 0;
  for (;;) {
    const bytes = await client.read(r, 8 * MiB);
    if (bytes.length === 0) break;
    read += bytes.length;
  }
  await client.close(r);
  const readSeconds = (performance.now() - started) / 1000;
  if (read !== sizeMiB * MiB) throw new Error(`read ${read} bytes, wrote ${sizeMiB * MiB}`);
  results[`sequential read ${sizeMiB} MiB`] = `${(sizeMiB / readSeconds).toFixed(0)} MiB/s`;

  await client.mkdir("/creates");
  let creates = 0;
  started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const fd = await client.open(`/creates/f${creates}`, O_CREAT | O_EXCL | O_WRONLY);
    await client.close(fd);
    creates++;
  }
  results["creates (open O_CREAT|O_EXCL + close), 1 client"] =
    `${(creates / ((performance.now() - started) / 1000)).toFixed(0)} /s`;

  let stats = 0;
  started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await client.stat(`/creates/f${stats % creates}`);
    stats++;
  }
  results["stat, 1 client"] = `${(stats / ((performance.now() - started) / 1000)).toFixed(0)} /s`;

  const concurrent = 32;
  let parallelCreates = 0;
  started = performance.now();
  await Promise.all(
    Array.from({ length: concurrent }, async (_, worker) => {
      while (performance.now() - started < seconds * 1000) {
        const fd = await client.open(
          `/creates/w${worker}-${parallelCreates++}`,
          O_CREAT | O_EXCL | O_WRONLY,
        );
        await client.close(fd);
      }
    }),
  );
  results[`creates, ${concurrent} concurrent callers`] =
    `${(parallelCreates / ((performance.now() - started) / 1000)).toFixed(0)} /s`;

  results["node peak RSS"] = `${(((await peakResidentBytes(node.pid)) ?? 0) / MiB).toFixed(0)} MiB`;
  results["client peak RSS"] = `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`;
} finally {
  await client.closeClient();
  await node.stop();
  await removeDataDir(node);
}
const width = Math.max(...Object.keys(results).map((k) => k.length));
for (const [name, value] of Object.entries(results)) console.log(`${name.padEnd(width)}  ${value}`);
