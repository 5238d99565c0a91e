/**
 * One randomized simulation run: a cluster under every fault the simulator has, driven by a
 * seed, then healed; safety is checked after every step, liveness and linearizability at the
 * end. The seed replays the run exactly: `npm run sim -- --seed N --steps M`.
 */
import { checkLinearizable } from "./linearizability.ts";
import { SimulationFailure, Simulator } from "./simulator.ts";

export interface SimulationOptions {
  readonly seed: number;
  readonly steps: number;
  readonly nodes?: number;
}

export interface SimulationStats {
  readonly seed: number;
  readonly operations: number;
  readonly acknowledged: number;
  readonly crashes: number;
  readonly partitions: number;
  readonly transfers: number;
  readonly membershipChanges: number;
  readonly snapshotsInstalled: number;
  readonly finalTerm: number;
}

const KEYS = ["a", "b", "c", "d", "e", "f"];

export function runSimulation(options: SimulationOptions): SimulationStats {
  const ids = Array.from({ length: options.nodes ?? 3 }, (_, i) => `n${i + 1}`);
  const sim = new Simulator({
    ids,
    seed: options.seed,
    snapshotEvery: 25,
    maxSnapshotPieceBytes: 48,
    maxInflight: 3,
    maxMessageBytes: 200,
  });
  const r = sim.random;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
  sim.faults = { drop: 0.05, duplicate: 0.03, maxDelay: 3, crashDuringPersist: 0.002 };
  let crashes = 0;
  let partitions = 0;
  let transfers = 0;
  let membershipChanges = 0;
  /** Nodes removed from the group; they never run again (a disk is never reused by a new member). */
  const retired = new Set<string>();
  /** Removals proposed and not yet known to be committed (or cut from the log). */
  const removals: Array<{ node: string; index: number; term: number }> = [];
  let nextId = ids.length + 1;
  let lastLeader: string | undefined;
  const fail = (what: string): never => {
    throw new SimulationFailure(
      `seed ${options.seed}: ${what} (replay: npm run sim -- --seed ${options.seed} --steps ${options.steps})`,
    );
  };
  try {
    for (let step = 0; step < options.steps; step++) {
      const roll = r();
      lastLeader = sim.leader() ?? lastLeader;
      const all = [...sim.nodes.keys()].filter((id) => !retired.has(id));
      const up = all.filter((id) => sim.isUp(id));
      if (roll < 0.25) sim.tick();
      else if (roll < 0.55) sim.deliverSome();
      else if (roll < 0.9) {
        // Clients favour the node that led last: a deposed leader is where stale reads and
        // lost writes would show.
        // A deposed leader that has not noticed yet (a lower-term node still acting as leader)
        // is the likeliest place for a stale read: aim at it when there is one.
        const newest = sim.leader();
        const newestTerm = newest ? sim.raft(newest).status().term : 0;
        const deposed = up.find((id) => {
          const s = sim.raft(id).status();
          return s.role === "leader" && s.term < newestTerm;
        });
        const favoured =
          deposed !== undefined && r() < 0.6
            ? deposed
            : lastLeader !== undefined && sim.isUp(lastLeader) && r() < 0.4
              ? lastLeader
              : undefined;
        const node = favoured ?? pick(up.length > 0 ? up : all);
        if (node && sim.isUp(node)) {
          if (r() < 0.5) sim.write(node, r() < 0.8 ? "set" : "del", pick(KEYS), `v${step}`);
          else sim.get(node, pick(KEYS));
        }
      } else if (roll < 0.903) {
        const node = pick(up);
        if (node && up.length > 1) {
          sim.crash(node);
          sim.forgetPending(node);
          crashes++;
        }
      } else if (roll < 0.915) {
        const down = all.filter((id) => !sim.isUp(id));
        if (down.length > 0) sim.start(pick(down));
      } else if (roll < 0.925) {
        partitions++;
        sim.heal();
        const kind = r();
        const shuffled = [...all].sort(() => r() - 0.5);
        const leader = sim.leader();
        if (kind < 0.3 && leader) sim.isolate(leader);
        else if (kind < 0.4) sim.isolate(shuffled[0]!);
        else if (kind < 0.6) sim.partition(shuffled.slice(0, 1), shuffled.slice(1));
        else if (kind < 0.8 && ids.length >= 3) {
          // A bridge: the middle node hears both sides, the sides do not hear each other.
          sim.partition([shuffled[0]!], [shuffled[2]!]);
        } else sim.cutOneWay(shuffled[0]!, shuffled[1]!);
      } else if (roll < 0.929) {
        sim.heal();
      } else if (roll < 0.96) {
        const leader = sim.leader();
        const target = pick(all);
        if (leader && sim.isUp(leader) && sim.raft(leader).transferLeadership(target)) transfers++;
      } else if (roll < 0.965) {
        const leader = sim.leader();
        if (!leader || !sim.isUp(leader)) continue;
        const raft = sim.raft(leader);
        const conf = raft.status().conf;
        const learner = conf.learners[0];
        if (learner !== undefined) {
          if (raft.proposeMembershipChange({ type: "promote", node: learner }).ok)
            membershipChanges++;
        } else if (conf.voters.length >= ids.length) {
          const victim = pick(conf.voters);
          const proposal = raft.proposeMembershipChange({ type: "remove", node: victim });
          if (proposal.ok) {
            removals.push({ node: victim, index: proposal.index, term: proposal.term });
            membershipChanges++;
          }
        } else {
          const fresh = `n${nextId}`;
          if (raft.proposeMembershipChange({ type: "addLearner", node: fresh }).ok) {
            nextId++;
            sim.addNode(fresh, conf);
            membershipChanges++;
          }
        }
      } else {
        sim.tick();
        sim.deliverSome();
      }
      // A removed node runs until its removal is committed, then stops for good.
      for (let i = removals.length - 1; i >= 0; i--) {
        const removal = removals[i]!;
        const term = sim.appliedTerm(removal.index);
        if (term === undefined) continue;
        removals.splice(i, 1);
        if (term !== removal.term) continue; // the proposal was cut from the log
        retired.add(removal.node);
        if (sim.isUp(removal.node)) sim.crash(removal.node);
      }
      if (step % 200 === 0) sim.checkLogMatching();
    }
    // Heal everything and require progress within a bounded virtual time.
    sim.faults = { drop: 0, duplicate: 0, maxDelay: 0, crashDuringPersist: 0 };
    sim.heal();
    for (const id of sim.nodes.keys()) if (!sim.isUp(id) && !retired.has(id)) sim.start(id);
    const settled = sim.tickUntil(() => {
      const leader = sim.leader();
      return leader !== undefined && sim.raft(leader).status().conf.voters.includes(leader);
    }, 300);
    if (!settled) fail("no leader within 300 ticks after the faults stopped");
    const leader = sim.leader()!;
    const members = () => {
      const conf = sim.raft(sim.leader() ?? leader).status().conf;
      return [...conf.voters, ...conf.learners];
    };
    // A learner left by the run is promoted so that the final state covers every node.
    // A proposal can be cut by a leader change before it commits (it was never acknowledged):
    // propose again every few ticks until it is applied everywhere, within the bound.
    let ticks = 0;
    const converged = sim.tickUntil(() => {
      if (ticks++ % 20 === 0) {
        const current = sim.leader();
        if (current && sim.read(current, "final") !== "done")
          sim.write(current, "set", "final", "done");
      }
      return members().every((id) => sim.isUp(id) && sim.read(id, "final") === "done");
    }, 400);
    if (!converged) fail("a write did not reach every member within 400 ticks after healing");
    sim.checkLogMatching();
    sim.checkAcknowledged();
    const verdict = checkLinearizable(sim.history, 20_000);
    if (verdict.ok === false) fail(`history is not linearizable for key ${verdict.key}`);
    if (verdict.ok === "timeout") fail(`linearizability check timed out on key ${verdict.key}`);
    return {
      seed: options.seed,
      operations: sim.history.length,
      acknowledged: sim.history.filter((op) => op.returned !== undefined).length,
      crashes,
      partitions,
      transfers,
      membershipChanges,
      snapshotsInstalled: [...sim.nodes.keys()].filter((id) => sim.storedSnapshot(id).index > 0)
        .length,
      finalTerm: Math.max(
        ...[...sim.nodes.keys()]
          .filter((id) => sim.isUp(id))
          .map((id) => sim.raft(id).status().term),
      ),
    };
  } catch (error) {
    if (error instanceof SimulationFailure && error.message.startsWith("seed ")) throw error;
    throw new SimulationFailure(
      `seed ${options.seed}: ${error instanceof Error ? error.message : String(error)} (replay: npm run sim -- --seed ${options.seed} --steps ${options.steps})`,
      { cause: error },
    );
  }
}
