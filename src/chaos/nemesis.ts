/**
 * Nemeses: the faults a chaos run applies, one at a time, on a schedule drawn from the run's
 * seed. Each fault is applied, held for a while, then healed, and recorded with its times.
 *
 * - kill: SIGKILL of the leader or a random node; restarted after a random delay.
 * - pause: SIGSTOP of the leader or a random node for longer than an election timeout.
 * - partition: halves, a lone node, a bridge (two sides that each reach one middle node), or
 *   one-way (a node hears nothing from the others but still sends); through each node's fault
 *   file, which cuts Raft and chunk traffic.
 * - transfer: leadership transfer from the leader to a random other node.
 */
import { pick } from "../raft/core/random.ts";
import type { Faults } from "../transport/fault-file.ts";
import type { ChaosCluster } from "./chaos-cluster.ts";
import type { History } from "./history.ts";

export const NEMESES = ["kill", "pause", "partition", "transfer"] as const;
export type NemesisKind = (typeof NEMESES)[number];

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

/** Applies faults until `until()` is false, then heals everything. */
export async function runNemesis(
  cluster: ChaosCluster,
  history: History,
  options: NemesisOptions,
  random: () => number,
  until: () => boolean,
): Promise<void> {
  const between = ([min, max]: readonly [number, number]) => min + random() * (max - min);
  let turn = 0;
  while (until()) {
    await sleep(between(options.gapMs));
    if (!until()) break;
    // Every kind gets a turn in the first rounds, so a short run still tries each.
    const kind = turn < options.kinds.length ? options.kinds[turn]! : pick(random, options.kinds);
    turn++;
    await applyFault(cluster, history, kind, between(options.holdMs), random);
  }
  await healEverything(cluster);
}

async function applyFault(
  cluster: ChaosCluster,
  history: History,
  kind: NemesisKind,
  holdMs: number,
  random: () => number,
): Promise<void> {
  const n = cluster.ids.length;
  const leader = await cluster.leader();
  const target = leader !== undefined && random() < 0.5 ? leader : Math.floor(random() * n);
  const name = (i: number) => `${cluster.ids[i]}${i === leader ? " (leader)" : ""}`;
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

/** Ends every fault: resumes paused nodes, restarts stopped ones, clears fault files. */
export async function healEverything(cluster: ChaosCluster): Promise<void> {
  await cluster.healAll();
  for (let i = 0; i < cluster.ids.length; i++) {
    cluster.resume(i);
    if (!cluster.isRunning(i)) await cluster.startNode(i);
  }
}
