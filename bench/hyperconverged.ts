/**
 * Figures for the hyperconverged topology, against three real node processes on 127.0.0.1,
 * beside the single topology measured in the same run (the ratio is the cost of replication):
 * 1 GiB sequential write and read at R=3, creates per second from 1 and 32 concurrent callers,
 * and failover time (leader kill -9 to the first acknowledged write), median of 10.
 *
 *   npm run bench:cluster -- [--size-mib 1024] [--seconds 5] [--failovers 10]
 *
 * All processes share this machine's cores and disk: compare figures of one run with each
 * other, not with another machine's.
 */
import { parseArgs } from "node:util";
import { connect, type SandstoreClient } from "../src/index.ts";
import { Cluster } from "../test/helpers/hyperconverged-cluster.ts";
import { removeDataDir, startNode } from "../test/helpers/node-process.ts";
import { creates, printFigures, sequentialRead, sequentialWrite } from "./file-load.ts";

const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    seconds: { type: "string", default: "5" },
    failovers: { type: "string", default: "10" },
  },
});
const sizeMiB = Number(values["size-mib"]);
const seconds = Number(values.seconds);
const failovers = Number(values.failovers);

interface Figures {
  write: number;
  read: number;
  createsOne: number;
  createsMany: number;
}

async function measure(client: SandstoreClient): Promise<Figures> {
  const write = await sequentialWrite(client, "/bench.bin", sizeMiB);
  const read = await sequentialRead(client, "/bench.bin", sizeMiB);
  await client.unlink("/bench.bin");
  await client.mkdir("/creates");
  const createsOne = (await creates(client, "/creates", 1, seconds)).perSecond;
  const createsMany = (await creates(client, "/creates", 32, seconds)).perSecond;
  return { write, read, createsOne, createsMany };
}

const single = await startNode();
let singleFigures: Figures;
try {
  const client = connect(single.address);
  singleFigures = await measure(client);
  await client.closeClient();
} finally {
  await single.stop();
  await removeDataDir(single);
}

const cluster = new Cluster();
await cluster.start();
let clusterFigures: Figures;
const failoverMs: number[] = [];
try {
  await cluster.leader();
  const client = connect(cluster.addresses);
  clusterFigures = await measure(client);
  for (let round = 0; round < failovers; round++) {
    const leader = await cluster.leader();
    const others = cluster.addresses.filter((_, i) => i !== leader);
    const writer = connect(others, { retryForMs: 30_000 });
    await writer.mkdir(`/failover-warm-${round}`);
    await cluster.kill(leader);
    const killedAt = performance.now();
    await writer.mkdir(`/failover-${round}`);
    failoverMs.push(performance.now() - killedAt);
    await writer.closeClient();
    await cluster.startNode(leader);
  }
  await client.closeClient();
} finally {
  await cluster.close();
}

const ratio = (a: number, b: number) => `${((a / b) * 100).toFixed(0)}% of single`;
const sorted = [...failoverMs].sort((a, b) => a - b);
const median =
  sorted.length % 2
    ? sorted[(sorted.length - 1) / 2]!
    : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
printFigures({
  [`single: sequential write ${sizeMiB} MiB`]: `${singleFigures.write.toFixed(0)} MiB/s`,
  [`single: sequential read ${sizeMiB} MiB`]: `${singleFigures.read.toFixed(0)} MiB/s`,
  "single: creates, 1 caller": `${singleFigures.createsOne.toFixed(0)} /s`,
  "single: creates, 32 callers": `${singleFigures.createsMany.toFixed(0)} /s`,
  [`3 nodes R=3: sequential write ${sizeMiB} MiB`]: `${clusterFigures.write.toFixed(0)} MiB/s (${ratio(clusterFigures.write, singleFigures.write)})`,
  [`3 nodes R=3: sequential read ${sizeMiB} MiB`]: `${clusterFigures.read.toFixed(0)} MiB/s (${ratio(clusterFigures.read, singleFigures.read)})`,
  "3 nodes: creates, 1 caller": `${clusterFigures.createsOne.toFixed(0)} /s (${ratio(clusterFigures.createsOne, singleFigures.createsOne)})`,
  "3 nodes: creates, 32 callers": `${clusterFigures.createsMany.toFixed(0)} /s (${ratio(clusterFigures.createsMany, singleFigures.createsMany)})`,
  [`failover, leader kill -9 to first acknowledged write (${failoverMs.length} runs)`]: `median ${median.toFixed(0)} ms, min ${sorted[0]?.toFixed(0)} ms, max ${sorted.at(-1)?.toFixed(0)} ms`,
});
