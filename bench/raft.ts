/**
 * Proposals per second and fsyncs per second through a 3-node RaftNode cluster on the memory
 * transport with the real disk WAL, at 1, 16 and 256 concurrent proposers, and the
 * group-commit ratio (proposals per leader fsync).
 *
 *   npm run bench:raft -- [--seconds 3] [--value-bytes 100]
 */
import { parseArgs } from "node:util";
import { MemoryCluster } from "../src/raft/testing/memory-cluster.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    "value-bytes": { type: "string", default: "100" },
  },
});
const seconds = Number(values.seconds);
const value = "x".repeat(Number(values["value-bytes"]));

const cluster = new MemoryCluster(["a", "b", "c"], { tickMs: 20, snapshotEntries: 100_000 });
await cluster.start();
try {
  let leader = await cluster.waitForLeader();
  let leaderChanges = 0;
  console.log("proposers  proposals/s  leader fsyncs/s  proposals per fsync  p50 ms  p99 ms");
  for (const concurrency of [1, 16, 256]) {
    leader = await cluster.waitForLeader();
    const fsyncsBefore = leader.node.stats.fsyncs;
    const latencies: number[] = [];
    let done = 0;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, worker) => {
        let i = 0;
        while (performance.now() < deadline) {
          const t = performance.now();
          try {
            await leader.node.propose(new TextEncoder().encode(`w${worker}-${i++}=${value}`));
          } catch {
            // Leadership moved under load: count it and follow the new leader.
            leaderChanges++;
            leader = await cluster.waitForLeader();
            continue;
          }
          latencies.push(performance.now() - t);
          done++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const fsyncs = leader.node.stats.fsyncs - fsyncsBefore;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(2);
    console.log(
      `${String(concurrency).padStart(9)}  ${(done / elapsed).toFixed(0).padStart(11)}  ${(fsyncs / elapsed).toFixed(0).padStart(15)}  ${(done / fsyncs).toFixed(1).padStart(19)}  ${pct(0.5).padStart(6)}  ${pct(0.99).padStart(6)}`,
    );
  }
  if (leaderChanges > 0) console.log(`(${leaderChanges} proposals failed over to a new leader)`);
} finally {
  await cluster.stop();
}
