/**
 * Nemeses: the faults a chaos run applies, one at a time, on a schedule drawn from the run's
 * seed. Each fault is applied, held for a while, then healed, and recorded with its times.
 *
 * - kill: SIGKILL of the leader or a random node; restarted after a random delay.
 * - pause: SIGSTOP of the leader or a random node for longer than an election timeout.
 * - partition: halves, a lone node, a bridge (two sides that each reach one middle node), or
 *   one-way (a node hears nothing from the others but still sends); through each node's fault
 *   file, which cuts Raft and chunk traffic.
 * - corrupt: SIGKILL of a node, one bit flipped in its WAL tail, newest snapshot or a chunk
 *   file, then a restart. A node that refuses to start (naming the file) is recovered the way
 *   an operator would: removed from the Raft group, its consensus state wiped, added back.
 * - transfer: leadership transfer from the leader to a random other node.
 * - membership: a node removed from the Raft group, then added back as a learner and
 *   promoted once it has caught up.
 * - etcd: on a cluster whose membership is in etcd, etcd killed (and restarted), paused, or
 *   cut off from one node (the leader or another), through the proxy each node reaches it by.
 *   Nodes keep their last view meanwhile; a node cut off alone loses its lease in the others'
 *   views, so no new chunk goes to it until it registers again.
 */
import { pick } from "../raft/core/random.ts";
import type { Faults } from "../transport/fault-file.ts";
import type { ChaosCluster, Corruption, CorruptionTarget } from "./chaos-cluster.ts";
import type { History } from "./history.ts";

export const NEMESES = [
  "kill",
  "pause",
  "partition",
  "corrupt",
  "transfer",
  "membership",
  "etcd",
] as const;
export type NemesisKind = (typeof NEMESES)[number];

/** Every nemesis but `etcd`: what a cluster on static membership can be given. */
export const STATIC_NEMESES: readonly NemesisKind[] = NEMESES.filter((kind) => kind !== "etcd");

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Election timeout of the nodes the harness starts (50 ms ticks, 10 to 20 ticks). */
const ELECTION_TIMEOUT_MS = 1000;

export interface NemesisOptions {
  readonly kinds: readonly NemesisKind[];
  /** Quiet time between faults, ms: drawn from [min, max]. */
  readonly gapMs: readonly [number, number];
  /** How long a fault is held, ms: drawn from [min, max]. */
  readonly holdMs: readonly [number, number];
}

/** A corruption the nemesis made, and how the node met it at its restart. */
export interface CorruptionRecord extends Corruption {
  readonly node: number;
  /** The node's error when it refused to start; undefined when it started. */
  readonly refusedStart: string | undefined;
}

/**
 * Applies faults until `until()` is false and every kind has had a turn, then heals
 * everything. Resolves to the corruptions made, for the check that each was detected and
 * named. A loaded machine makes each fault take longer; the run then lasts longer rather
 * than skip a kind.
 */
export async function runNemesis(
  cluster: ChaosCluster,
  history: History,
  options: NemesisOptions,
  random: () => number,
  until: () => boolean,
): Promise<CorruptionRecord[]> {
  const corruptions: CorruptionRecord[] = [];
  const between = ([min, max]: readonly [number, number]) => min + random() * (max - min);
  let turn = 0;
  const due = () => until() || turn < options.kinds.length;
  while (due()) {
    await sleep(between(options.gapMs));
    if (!due()) break;
    // Every kind gets a turn in the first rounds, so a short run still tries each.
    const kind = turn < options.kinds.length ? options.kinds[turn]! : pick(random, options.kinds);
    turn++;
    await applyFault(cluster, history, kind, between(options.holdMs), random, corruptions);
  }
  await healEverything(cluster);
  return corruptions;
}

async function applyFault(
  cluster: ChaosCluster,
  history: History,
  kind: NemesisKind,
  holdMs: number,
  random: () => number,
  corruptions: CorruptionRecord[],
): Promise<void> {
  const n = cluster.ids.length;
  const leader = await cluster.leader();
  const member = leader !== undefined && random() < 0.5 ? leader : Math.floor(random() * n);
  // A process kill or pause may also hit a data server, where a cluster has them apart.
  const dataServers = cluster.allIds.length - n;
  const target =
    (kind === "kill" || kind === "pause") && dataServers > 0 && random() < 1 / 3
      ? n + Math.floor(random() * dataServers)
      : member;
  const name = (i: number) => `${cluster.allIds[i]}${i === leader ? " (leader)" : ""}`;
  switch (kind) {
    case "kill": {
      const record = history.fault(kind, `kill -9 ${name(target)}`);
      await cluster.kill(target);
      await sleep(holdMs);
      await cluster.startNode(target);
      history.endFault(record);
      return;
    }
    case "pause": {
      const record = history.fault(kind, `SIGSTOP ${name(target)}`);
      cluster.pause(target);
      await sleep(Math.max(holdMs, ELECTION_TIMEOUT_MS * 1.5));
      cluster.resume(target);
      history.endFault(record);
      return;
    }
    case "partition": {
      const { description, faults } = partitionShape(cluster.ids, random);
      const record = history.fault(kind, description);
      await Promise.all(faults.map((f, i) => cluster.setFaults(i, f)));
      await sleep(holdMs);
      await cluster.healAll();
      history.endFault(record);
      return;
    }
    case "corrupt": {
      const targets: CorruptionTarget[] = cluster.groupHoldsChunks
        ? ["wal", "snapshot", "chunk"]
        : ["wal", "snapshot"];
      await cluster.kill(target);
      const damage = await cluster.corrupt(target, pick(random, targets), random);
      const what = damage
        ? `flip a bit of ${name(target)}'s ${damage.target} at ${damage.offset} of ${damage.file}`
        : `${name(target)} has no file to corrupt`;
      const record = history.fault(kind, what);
      await sleep(Math.min(holdMs, ELECTION_TIMEOUT_MS));
      let refusedStart: string | undefined;
      try {
        await cluster.startNode(target);
      } catch (error) {
        refusedStart = error instanceof Error ? error.message : String(error);
        await rejoinFresh(cluster, target);
      }
      if (damage) corruptions.push({ ...damage, node: target, refusedStart });
      history.endFault(record);
      return;
    }
    case "membership": {
      const record = history.fault(kind, `remove ${name(target)} from the Raft group, add it back`);
      await cluster.changeMembership("remove", target);
      await sleep(holdMs);
      await cluster.addVoter(target);
      history.endFault(record);
      return;
    }
    case "etcd": {
      const shape = pick(random, ["kill", "pause", "cut"] as const);
      const what =
        shape === "kill"
          ? "kill -9 etcd, restart it"
          : shape === "pause"
            ? "SIGSTOP etcd"
            : `cut etcd off from ${name(target)}`;
      const record = history.fault(kind, what);
      if (shape === "kill") await cluster.killEtcd();
      else if (shape === "pause") cluster.pauseEtcd();
      else cluster.cutEtcdFrom(target);
      // Longer than a lease (5 s) now and then, so leases do expire in some runs.
      await sleep(holdMs * 2);
      await cluster.healEtcd();
      history.endFault(record);
      return;
    }
    case "transfer": {
      if (leader === undefined) {
        history.endFault(history.fault(kind, "transfer: no leader to ask"));
        return;
      }
      const others = cluster.ids.map((_, i) => i).filter((i) => i !== leader);
      const to = pick(random, others);
      const started = await cluster.transferLeadership(leader, to);
      const record = history.fault(
        kind,
        `transfer ${cluster.ids[leader]} to ${cluster.ids[to]}${started ? "" : " (refused)"}`,
      );
      await sleep(Math.min(holdMs, ELECTION_TIMEOUT_MS));
      history.endFault(record);
      return;
    }
  }
}

/** One partition, drawn at random: each node's fault file and a description. */
export function partitionShape(
  ids: readonly string[],
  random: () => number,
): { description: string; faults: Faults[] } {
  const n = ids.length;
  const order = ids.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const shapes = n >= 3 ? ["halves", "lone", "bridge", "one-way"] : ["lone", "one-way"];
  const shape = pick(random, shapes);
  const faults: Faults[] = ids.map(() => ({}));
  const cut = (a: number, b: number) => {
    faults[a] = { ...faults[a], drop: [...(faults[a]!.drop ?? []), ids[b]!] };
    faults[b] = { ...faults[b], drop: [...(faults[b]!.drop ?? []), ids[a]!] };
  };
  const names = (group: number[]) => group.map((i) => ids[i]).join(" ");
  if (shape === "halves" || shape === "lone") {
    const size = shape === "lone" ? 1 : Math.floor(n / 2);
    const side = order.slice(0, size);
    const rest = order.slice(size);
    for (const a of side) for (const b of rest) cut(a, b);
    return { description: `partition ${shape}: ${names(side)} | ${names(rest)}`, faults };
  }
  if (shape === "bridge") {
    const [middle, ...others] = order;
    const left = others.slice(0, Math.ceil(others.length / 2));
    const right = others.slice(Math.ceil(others.length / 2));
    for (const a of left) for (const b of right) cut(a, b);
    return {
      description: `partition bridge: ${names(left)} | ${names(right)}, both reach ${ids[middle!]}`,
      faults,
    };
  }
  const deaf = order[0]!;
  faults[deaf] = { dropFrom: ids.filter((_, i) => i !== deaf) };
  return { description: `partition one-way: ${ids[deaf]} hears no one, still sends`, faults };
}

/**
 * Recovers a node whose consensus state is damaged, as an operator would: out of the group,
 * state wiped, started empty, added back as a learner and promoted once caught up. Starting
 * it empty without the removal could let it vote twice in a term it had forgotten.
 */
async function rejoinFresh(cluster: ChaosCluster, i: number): Promise<void> {
  await cluster.changeMembership("remove", i);
  await cluster.wipeConsensusState(i);
  await cluster.startNode(i);
  await cluster.addVoter(i);
}

/**
 * Ends every fault: resumes paused nodes, restarts stopped ones, clears fault files, and makes
 * every node a voter again.
 */
export async function healEverything(cluster: ChaosCluster): Promise<void> {
  await cluster.healAll();
  await cluster.healEtcd();
  for (let i = 0; i < cluster.allIds.length; i++) {
    cluster.resume(i);
    if (!cluster.isRunning(i)) await cluster.startNode(i);
  }
  for (const i of await cluster.nonVoters()) await cluster.addVoter(i);
}
