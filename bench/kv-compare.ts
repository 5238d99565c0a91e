/**
 * Sandstore's key-value topology beside etcd, in one run on this machine: a 3-node cluster of
 * each on 127.0.0.1, the same load generator at 1, 16 and 64 connections, SET and linearizable
 * GET, and the ratios. Needs Debian's etcd-server (`etcd` on the PATH).
 *
 *   npm run bench:kv -- [--seconds 5] [--value-size 256]
 */
import { parseArgs } from "node:util";
import {
  etcdDrivers,
  formatRow,
  type KvDriver,
  type PhaseResult,
  runKvLoad,
  sandstoreDrivers,
  TABLE_HEADER,
} from "../src/bench/kv-load.ts";
import { KvProcessCluster } from "../test/helpers/kv-cluster.ts";
import { startEtcd } from "./compare/etcd-cluster.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    "value-size": { type: "string", default: "256" },
  },
});
const seconds = Number(values.seconds);
const valueBytes = Number(values["value-size"]);

async function measure(
  make: (clients: number) => Promise<KvDriver[]>,
  clients: number,
): Promise<PhaseResult[]> {
  const drivers = await make(clients);
  try {
    return await runKvLoad(drivers, seconds, valueBytes);
  } finally {
    await Promise.all(drivers.map((d) => d.close()));
  }
}

const sandstore = new KvProcessCluster(3);
await sandstore.start();
const etcd = await startEtcd();
const rows: Array<{ system: string; result: PhaseResult }> = [];
try {
  await sandstore.leader();
  const seeds = [0, 1, 2].map((i) => sandstore.clientAddress(i));
  for (const clients of [1, 16, 64]) {
    for (const r of await measure((c) => sandstoreDrivers(seeds, c), clients))
      rows.push({ system: "sandstore", result: r });
    for (const r of await measure((c) => etcdDrivers(etcd.endpoints, c), clients))
      rows.push({ system: "etcd", result: r });
  }
} finally {
  await sandstore.close();
  await etcd.stop();
}
console.log(TABLE_HEADER);
for (const row of rows) console.log(formatRow(row.system, row.result));
console.log("\nratio sandstore/etcd: ops/s (higher is better), p99 (lower is better)");
for (const clients of [1, 16, 64]) {
  for (const op of ["SET", "GET"] as const) {
    const s = rows.find(
      (r) => r.system === "sandstore" && r.result.clients === clients && r.result.op === op,
    )!.result;
    const e = rows.find(
      (r) => r.system === "etcd" && r.result.clients === clients && r.result.op === op,
    )!.result;
    console.log(
      `${op} x${clients}: ops/s ${(s.opsPerSecond / e.opsPerSecond).toFixed(2)}x, p99 ${(s.p99Ms / e.p99Ms).toFixed(2)}x`,
    );
  }
}
