/**
 * One chaos run: start a cluster of real node processes, run a workload of concurrent
 * clients that record every operation while a nemesis applies faults on a schedule drawn
 * from the seed, heal everything, let the cluster settle, then check the history and the
 * cluster and write the verdict, the history, a report and a timeline to the results
 * directory.
 */
import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../common/wait-for.ts";
import { connect } from "../index.ts";
import { seededRandom } from "../raft/core/random.ts";
import {
  type CheckResult,
  checkLinearizable,
  registerModel,
} from "../raft/testing/linearizability.ts";
import type { BrokenRule } from "../topologies/index.ts";
import { ChaosCluster, type ChaosTopology, chaosTopology } from "./chaos-cluster.ts";
import { FILE_KEYS, fileModel, fileOperation, runFilesWorkload } from "./files-workload.ts";
import { History } from "./history.ts";
import { type CorruptionRecord, type NemesisKind, runNemesis } from "./nemesis.ts";
import { operate, REGISTER_KEYS, runRegisterWorkload } from "./register-workload.ts";
import { renderTimeline, timelineData } from "./timeline.ts";

export type Workload = "register" | "files";

export interface ChaosOptions {
  readonly topology: ChaosTopology;
  readonly nodes: number;
  /** Seconds of workload under faults. */
  readonly timeS: number;
  readonly seed: number;
  /** The faults; with `etcd` among them, the nodes keep their membership in an etcd. */
  readonly nemeses: readonly NemesisKind[];
  readonly workload: Workload;
  /** Concurrent clients. Default 5. */
  readonly clients?: number;
  /** Where `<timestamp>-<topology>-seed<seed>/` is written. Default `results/chaos`. */
  readonly resultsDir?: string;
  /** Progress lines for a person watching. */
  readonly log?: (line: string) => void;
  /**
   * A rule every node breaks on purpose (`--break-rule`), to show the checks catch it:
   * `reads-without-readindex` (kv). For the chaos tests only.
   */
  readonly brokenRule?: BrokenRule;
  /** How partitions are made: fault files (default) or, as root, nftables in namespaces. */
  readonly network?: "loopback" | "netns";
  /** Keep the nodes' data directories of a failed run for inspection. Default true. */
  readonly keepFailedData?: boolean;
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface ChaosVerdict {
  readonly ok: boolean;
  readonly checks: readonly Check[];
  /** The run's results directory. */
  readonly dir: string;
  readonly operations: number;
  readonly faults: number;
}

/** Chunk size of a hyperconverged chaos cluster: small, so the files span two slots. */
const CHUNK_SIZE = 4096;
/** How long the healed cluster has to settle before the run fails. */
const SETTLE_TIMEOUT_MS = 60_000;

/**
 * The workload that fits `topology`: `register` where it serves keys, `files` where it serves
 * files. A RangeError when a chaos run cannot start it.
 */
export function workloadOf(topology: ChaosTopology): Workload {
  return chaosTopology(topology).serves === "keys" ? "register" : "files";
}

export async function runChaos(o: ChaosOptions): Promise<ChaosVerdict> {
  const fits = workloadOf(o.topology);
  if (o.workload !== fits)
    throw new RangeError(
      `the ${o.workload} workload does not run on the ${o.topology} topology, whose clients get the ${fits} workload`,
    );
  const log = o.log ?? (() => {});
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dir = join(o.resultsDir ?? "results/chaos", `${stamp}-${o.topology}-seed${o.seed}`);
  await mkdir(dir, { recursive: true });
  const root = await mkdtemp(join(tmpdir(), "sandstore-chaos-"));
  const cluster = new ChaosCluster({
    topology: o.topology,
    nodes: o.nodes,
    root,
    chunkSize: CHUNK_SIZE,
    brokenRule: o.brokenRule,
    network: o.network,
    membership: o.nemeses.includes("etcd") ? "etcd" : "static",
  });
  const history = new History();
  const checks: Check[] = [];
  let verdict: CheckResult | undefined;
  let sampling = true;
  let roleSamples: Promise<void> = Promise.resolve();
  try {
    log(
      `starting ${cluster.allIds.length} ${o.topology} nodes (${cluster.allIds.join(" ")}) under ${root}${o.network === "netns" ? ", each in a network namespace" : ""}${cluster.onEtcd ? ", membership in etcd" : ""}`,
    );
    await cluster.start();
    await waitFor(async () => (await cluster.leader()) !== undefined, "a leader", 20_000);
    roleSamples = sampleRoles(cluster, history, () => sampling);
    const stopAt = Date.now() + o.timeS * 1000;
    // Clients run as long as the nemesis does: it goes past the time until each kind had a turn.
    let nemesisDone = false;
    const running = () => !nemesisDone;
    const clients = o.clients ?? 5;
    log(
      `running ${o.workload} with ${clients} clients for ${o.timeS} s; nemeses ${o.nemeses.join(",")}`,
    );
    const [, corruptions] = await Promise.all([
      o.workload === "register"
        ? runRegisterWorkload(cluster, history, clients, seededRandom(o.seed), running)
        : runFilesWorkload(cluster, history, clients, CHUNK_SIZE, seededRandom(o.seed), running),
      runNemesis(
        cluster,
        history,
        { kinds: o.nemeses, gapMs: [1000, 3000], holdMs: [1000, 4000] },
        seededRandom(o.seed ^ 0x5eed),
        () => Date.now() < stopAt,
      ).finally(() => {
        nemesisDone = true;
      }),
    ]);
    log(`healed; ${history.operations.length} operations, ${history.faults.length} faults`);
    checks.push(await settle(cluster));
    await finalReads(cluster, o.workload, history);
    if (o.workload === "files") checks.push(await repaired(cluster));
    if (corruptions.length > 0) checks.push(await corruptionsNamed(cluster, corruptions));
    verdict = checkLinearizable(
      history.checkable(),
      120_000,
      o.workload === "register" ? registerModel : fileModel,
    );
    checks.push({
      name: "linearizable",
      ok: verdict.ok === true,
      detail:
        verdict.ok === true
          ? `${history.checkable().length} operations`
          : verdict.ok === "timeout"
            ? `the checker gave up on key ${verdict.key}`
            : `key ${verdict.key}: no linearization of its ${verdict.operations.length} operations`,
    });
    checks.push({
      name: "no node crashed on its own",
      ok: cluster.unexpectedExits.length === 0,
      detail:
        cluster.unexpectedExits
          .map((e) => `${e.node} exited (${e.code ?? e.signal}): ${e.stderr.slice(-300)}`)
          .join("; ") || "every exit was the nemesis's",
    });
  } catch (error) {
    checks.push({ name: "the run completed", ok: false, detail: String(error) });
  } finally {
    sampling = false;
    await roleSamples;
    await cluster.stop();
  }
  const ok = checks.every((check) => check.ok);
  const keepData = !ok && (o.keepFailedData ?? true);
  await writeResults(dir, o, history, checks, ok, keepData ? root : undefined, verdict);
  if (!keepData) await rm(root, { recursive: true, force: true });
  log(`${ok ? "PASS" : "FAIL"}: ${dir}`);
  return { ok, checks, dir, operations: history.operations.length, faults: history.faults.length };
}

/** Time between two samples of one member's role, for the timeline's role lanes. */
const ROLE_SAMPLE_MS = 200;

/**
 * Samples each member's role until `running()` is false: its Raft role, or `down` (the
 * harness stopped it), `paused`, or `unreachable` (it did not answer within a second).
 */
async function sampleRoles(
  cluster: ChaosCluster,
  history: History,
  running: () => boolean,
): Promise<void> {
  await Promise.all(
    cluster.ids.map(async (id, i) => {
      while (running()) {
        const role = !cluster.isRunning(i)
          ? "down"
          : cluster.isPaused(i)
            ? "paused"
            : ((await cluster.nodeState(i, 1000))?.role ?? "unreachable");
        history.noteRole(id, role);
        await new Promise((tick) => setTimeout(tick, ROLE_SAMPLE_MS));
      }
    }),
  );
}

/** Every node up, one leader, every node applied as far as the leader with the same hash. */
async function settle(cluster: ChaosCluster): Promise<Check> {
  let last = "";
  try {
    await waitFor(
      async () => {
        const states = await Promise.all(cluster.ids.map((_, i) => cluster.nodeState(i)));
        const leader = states.find((s) => s?.role === "leader");
        last = states
          .map((s, i) =>
            s
              ? `${s.id} ${s.role} applied ${s.appliedIndex} ${s.stateHash.slice(0, 12)}`
              : `${cluster.ids[i]} silent`,
          )
          .join("; ");
        return (
          leader !== undefined &&
          states.every(
            (s) =>
              s !== undefined &&
              s.appliedIndex === leader.appliedIndex &&
              s.stateHash === leader.stateHash,
          )
        );
      },
      "every node to apply as far as the leader with the same state hash",
      SETTLE_TIMEOUT_MS,
    );
    return { name: "state hashes equal after healing", ok: true, detail: last };
  } catch {
    return { name: "state hashes equal after healing", ok: false, detail: last };
  }
}

/** Reads every key once more after healing: acknowledged writes must be there. */
async function finalReads(
  cluster: ChaosCluster,
  workload: Workload,
  history: History,
): Promise<void> {
  const client = 1_000;
  if (workload === "register") {
    for (const key of REGISTER_KEYS) await operate(cluster, history, client, 0, "get", key);
    return;
  }
  const sdk = connect(cluster.clientAddresses(), { retryForMs: 10_000 });
  try {
    for (const key of FILE_KEYS)
      for (const name of ["a", "b"] as const)
        for (const offset of [0, CHUNK_SIZE])
          await fileOperation(sdk, history, client, key, "read", { name, offset, length: 64 });
  } finally {
    await sdk.closeClient();
  }
}

/** After healing, repair finds nothing short of copies and the scrub nothing unrecoverable. */
async function repaired(cluster: ChaosCluster): Promise<Check> {
  let detail = "";
  let firstPasses: number | undefined;
  let firstScrubs: number | undefined;
  try {
    await waitFor(
      async () => {
        const leader = await cluster.leader();
        if (leader === undefined) return false;
        // Maintenance runs on the leader, and only the node asked reports its own.
        const sdk = connect([cluster.clientAddress(leader)], { retryForMs: 1000 });
        try {
          const status = await sdk.status();
          const m = status.nodes.find((n) => n.id === cluster.ids[leader])?.maintenance;
          if (!m?.active) return false;
          firstPasses ??= m.repairPasses;
          firstScrubs ??= m.scrubPasses;
          detail = `repair passes ${m.repairPasses}, last found ${m.underReplicated} short, ${m.repairedTotal} repaired; scrub ${m.scrubDamagedTotal} damaged found, ${m.scrubUnrecoverable} unrecoverable`;
          // Two passes after healing: one may have begun before. A scrub pass after healing
          // has verified every copy, damaged ones included.
          return (
            m.repairPasses >= firstPasses + 2 &&
            m.scrubPasses >= firstScrubs + 2 &&
            m.underReplicated === 0 &&
            m.repairPending === 0 &&
            m.scrubUnrecoverable === 0
          );
        } finally {
          await sdk.closeClient();
        }
      },
      "repair to find every chunk with R good copies",
      SETTLE_TIMEOUT_MS,
    );
    return { name: "every chunk has R good copies", ok: true, detail };
  } catch (error) {
    return { name: "every chunk has R good copies", ok: false, detail: detail || String(error) };
  }
}

async function writeResults(
  dir: string,
  o: ChaosOptions,
  history: History,
  checks: readonly Check[],
  ok: boolean,
  keptData: string | undefined,
  verdict: CheckResult | undefined,
): Promise<void> {
  const lines = history.operations.map((op) => JSON.stringify(op));
  await writeFile(join(dir, "history.jsonl"), `${lines.join("\n")}\n`);
  await writeFile(join(dir, "faults.json"), `${JSON.stringify(history.faults, null, 2)}\n`);
  const counts = { ok: 0, fail: 0, unknown: 0 };
  for (const op of history.operations) counts[op.outcome]++;
  const report = {
    verdict: ok ? "pass" : "fail",
    options: { ...o, log: undefined },
    operations: counts,
    faults: history.faults.length,
    checks,
    keptData,
  };
  await writeFile(join(dir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
  const md = [
    `# Chaos run: ${ok ? "PASS" : "FAIL"}`,
    "",
    `${o.topology}, ${o.nodes} nodes, ${o.workload} workload, ${o.timeS} s, seed ${o.seed}, nemeses ${o.nemeses.join(", ")}, partitions by ${o.network === "netns" ? "nftables in network namespaces" : "fault files"}, membership ${o.nemeses.includes("etcd") ? "in etcd" : "static"}.`,
    `Replay: \`npm run chaos -- --topology ${o.topology} --nodes ${o.nodes} --time ${o.timeS} --seed ${o.seed} --nemesis ${o.nemeses.join(",")} --workload ${o.workload}${o.network === "netns" ? " --network netns" : ""}\` (the fault schedule replays; process timing does not).`,
    "",
    `Operations: ${counts.ok} ok, ${counts.fail} failed (did not happen), ${counts.unknown} unknown outcome. Faults: ${history.faults.length}.`,
    "",
    "| check | verdict | detail |",
    "|---|---|---|",
    ...checks.map(
      (c) => `| ${c.name} | ${c.ok ? "ok" : "**FAILED**"} | ${c.detail.replace(/\|/g, "\\|")} |`,
    ),
    "",
    "## Faults",
    "",
    ...history.faults.map(
      (f) =>
        `- ${(f.startMs / 1000).toFixed(1)} s to ${((f.endMs ?? f.startMs) / 1000).toFixed(1)} s: ${f.description}`,
    ),
    "",
    keptData ? `Node data kept for inspection under ${keptData}.` : "",
    "Files: history.jsonl (every operation), faults.json, report.json, timeline.html.",
    "",
  ];
  await writeFile(join(dir, "report.md"), md.join("\n"));
  const summary = `${o.topology}, ${o.nodes} nodes, seed ${o.seed}: ${ok ? "PASS" : "FAIL"}. ${counts.ok} ok, ${counts.fail} did not happen, ${counts.unknown} unknown; ${history.faults.length} faults.`;
  await writeFile(
    join(dir, "timeline.html"),
    await renderTimeline(
      timelineData(
        history,
        `${o.topology} seed ${o.seed}: ${ok ? "PASS" : "FAIL"}`,
        summary,
        verdict,
      ),
    ),
  );
}

/**
 * Every corrupted file was detected and named: in the error of a node that refused to start,
 * or in the node's log (a WAL tail cut, a chunk copy failing its checksum). A corrupted chunk
 * file that garbage collection deleted unread was never served either. That nothing damaged
 * was served is the linearizability and state-hash checks' part.
 */
async function corruptionsNamed(
  cluster: ChaosCluster,
  corruptions: readonly CorruptionRecord[],
): Promise<Check> {
  const name = "every corruption detected and named";
  const unnamed = async () => {
    const missing: string[] = [];
    for (const c of corruptions) {
      if (c.refusedStart !== undefined) {
        if (!c.refusedStart.includes(c.file))
          missing.push(`${c.file}: refused start without naming it`);
        continue;
      }
      if ((await cluster.logText(c.node)).includes(c.file)) continue;
      const gone = await access(c.file).then(
        () => false,
        () => true,
      );
      if (!(c.target === "chunk" && gone)) missing.push(`${c.target} ${c.file} not named`);
    }
    return missing;
  };
  let missing: string[] = [];
  try {
    await waitFor(
      async () => {
        missing = await unnamed();
        return missing.length === 0;
      },
      "every corrupted file to be named",
      SETTLE_TIMEOUT_MS,
    );
    const refused = corruptions.filter((c) => c.refusedStart !== undefined).length;
    return {
      name,
      ok: true,
      detail: `${corruptions.length} corruptions (${corruptions.map((c) => c.target).join(", ")}); ${refused} stopped a node's start, the rest were found and named at work`,
    };
  } catch {
    return { name, ok: false, detail: missing.join("; ") };
  }
}
