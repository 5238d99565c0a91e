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
import { connect } from "../src/index.ts";
import { peakResidentBytes } from "../test/helpers/memory.ts";
import { removeDataDir, startNode } from "../test/helpers/node-process.ts";
import { creates, printFigures, sequentialRead, sequentialWrite } from "./file-load.ts";

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
  const write = await sequentialWrite(client, "/bench.bin", sizeMiB);
  results[`sequential write ${sizeMiB} MiB (durable at close)`] = `${write.toFixed(0)} MiB/s`;
  const read = await sequentialRead(client, "/bench.bin", sizeMiB);
  results[`sequential read ${sizeMiB} MiB`] = `${read.toFixed(0)} MiB/s`;

  await client.mkdir("/creates");
  const one = await creates(client, "/creates", 1, seconds);
  results["creates (open O_CREAT|O_EXCL + close), 1 client"] = `${one.perSecond.toFixed(0)} /s`;

  let stats = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await client.stat(one.names[stats % one.names.length]!);
    stats++;
  }
  results["stat, 1 client"] = `${(stats / ((performance.now() - started) / 1000)).toFixed(0)} /s`;

  const many = await creates(client, "/creates", 32, seconds);
  results["creates, 32 concurrent callers"] = `${many.perSecond.toFixed(0)} /s`;

  results["node peak RSS"] = `${(((await peakResidentBytes(node.pid)) ?? 0) / MiB).toFixed(0)} MiB`;
  results["client peak RSS"] = `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`;
} finally {
  await client.closeClient();
  await node.stop();
  await removeDataDir(node);
}
printFigures(results);
