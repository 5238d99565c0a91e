/**
 * Scenario tests of the consensus core, one rule each, on the deterministic simulator.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Simulator, seededRandom } from "../testing/simulator.ts";
import { Raft } from "./raft.ts";
import type { Entry } from "./types.ts";
import { EntryType } from "./types.ts";

const ids = ["n1", "n2", "n3"];

function cluster(options: Partial<ConstructorParameters<typeof Simulator>[0]> = {}): Simulator {
  return new Simulator({ ids, seed: 7, ...options });
}

function elect(sim: Simulator): string {
  assert.ok(
    sim.tickUntil(() => sim.leader() !== undefined, 100),
    "a leader is elected",
  );
  sim.deliverAll();
  return sim.leader()!;
}

function commitWrite(sim: Simulator, key: string, value: string): void {
  const leader = sim.leader()!;
  assert.ok(sim.write(leader, "set", key, value));
  sim.deliverAll();
  sim.tickUntil(
    () =>
      ids.filter((id) => sim.isUp(id)).every((id) => sim.read(id, key) === value) ||
      sim.read(leader, key) === value,
    20,
  );
  assert.equal(sim.read(leader, key), value);
}

describe("elections", () => {
  test("three nodes elect exactly one leader, and every node follows it", () => {
    const sim = cluster();
    const leader = elect(sim);
    sim.tick();
    sim.deliverAll();
    for (const id of ids) {
      const s = sim.raft(id).status();
      assert.equal(s.lead, leader);
      assert.equal(s.term, sim.raft(leader).status().term);
    }
    assert.equal(ids.filter((id) => sim.raft(id).status().role === "leader").length, 1);
  });

  test("a single voter elects itself and commits on its own", () => {
    const sim = new Simulator({ ids: ["solo"], seed: 1 });
    assert.ok(sim.tickUntil(() => sim.leader() === "solo", 30));
    assert.ok(sim.write("solo", "set", "k", "v"));
    sim.deliverAll();
    assert.equal(sim.read("solo", "k"), "v");
  });

  test("pre-vote: a partitioned follower does not raise its term or disrupt the leader when it returns", () => {
    const sim = cluster();
    const leader = elect(sim);
    const follower = ids.find((id) => id !== leader)!;
    const termBefore = sim.raft(leader).status().term;
    sim.isolate(follower);
    for (let i = 0; i < 100; i++) {
      sim.tick();
      sim.deliverAll();
    }
    assert.equal(
      sim.raft(follower).status().term,
      termBefore,
      "pre-votes failed, so the term stayed",
    );
    sim.heal();
    for (let i = 0; i < 5; i++) {
      sim.tick();
      sim.deliverAll();
    }
    assert.equal(sim.leader(), leader);
    assert.equal(sim.raft(leader).status().term, termBefore);
  });

  test("check-quorum: a leader cut off from the majority steps down; the majority elects another", () => {
    const sim = cluster();
    const old = elect(sim);
    sim.isolate(old);
    assert.ok(
      sim.tickUntil(() => sim.raft(old).status().role !== "leader", 40),
      "the isolated leader steps down within about an election timeout",
    );
    const rest = ids.filter((id) => id !== old);
    assert.ok(sim.tickUntil(() => rest.some((id) => sim.raft(id).status().role === "leader"), 100));
  });

  test("the leader lease: a follower that hears its leader ignores a disruptive vote request", () => {
    const sim = cluster();
    const leader = elect(sim);
    const [a] = ids.filter((id) => id !== leader);
    const term = sim.raft(a!).status().term;
    sim.raft(a!).step({
      type: "vote",
      from: "n9",
      to: a!,
      term: term + 5,
      lastIndex: 1000,
      lastTerm: term + 4,
      transfer: false,
    });
    assert.equal(sim.raft(a!).status().term, term);
  });

  test("votes are persisted: after a restart a node does not vote twice in one term", () => {
    const boot = {
      hardState: { term: 0, vote: "", commit: 0 },
      snapshot: { index: 0, term: 0, conf: { voters: ids, learners: [] }, size: 0 },
      entries: [],
    };
    const config = { id: "n3", electionTicks: 10, heartbeatTicks: 1, random: seededRandom(1) };
    const first = new Raft(config, boot);
    first.step({
      type: "vote",
      from: "n1",
      to: "n3",
      term: 5,
      lastIndex: 0,
      lastTerm: 0,
      transfer: false,
    });
    const ready = first.ready();
    assert.deepEqual(
      ready.hardState,
      { term: 5, vote: "n1", commit: 0 },
      "the vote is in the state to persist",
    );
    assert.deepEqual(
      ready.messages.map((m) => [m.type, m.type === "voteResp" && m.reject]),
      [["voteResp", false]],
    );
    // Restart from what was persisted: the same term, another candidate.
    const second = new Raft(config, { ...boot, hardState: ready.hardState! });
    second.step({
      type: "vote",
      from: "n2",
      to: "n3",
      term: 5,
      lastIndex: 0,
      lastTerm: 0,
      transfer: false,
    });
    const answer = second.ready().messages[0];
    assert.ok(answer?.type === "voteResp" && answer.reject, "one vote per term, across restarts");
  });
});

describe("replication", () => {
  test("a leader that lost its uncommitted tail has it cut off when it rejoins", () => {
    const sim = cluster();
    const old = elect(sim);
    commitWrite(sim, "a", "1");
    sim.isolate(old);
    for (let i = 0; i < 5; i++) sim.write(old, "set", "lost", String(i));
    sim.deliverAll();
    const rest = ids.filter((id) => id !== old);
    assert.ok(sim.tickUntil(() => rest.some((id) => sim.raft(id).status().role === "leader"), 200));
    commitWrite(sim, "b", "2");
    sim.heal();
    assert.ok(
      sim.tickUntil(() => sim.read(old, "b") === "2", 100),
      "the old leader catches up",
    );
    assert.equal(sim.read(old, "lost"), undefined, "its uncommitted entries were replaced");
    sim.checkLogMatching();
  });

  test("figure 8: an entry of an earlier term is not committed by counting replicas", () => {
    const entries: Entry[] = [
      { term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array() },
      { term: 2, index: 2, type: EntryType.Normal, data: new Uint8Array([2]) },
    ];
    const leader = new Raft(
      { id: "n1", electionTicks: 10, heartbeatTicks: 1, random: seededRandom(3), preVote: false },
      {
        hardState: { term: 2, vote: "n1", commit: 1 },
        snapshot: {
          index: 0,
          term: 0,
          conf: { voters: ["n1", "n2", "n3", "n4", "n5"], learners: [] },
          size: 0,
        },
        entries,
      },
    );
    for (let i = 0; i < 20 && leader.status().role !== "candidate"; i++) leader.tick();
    const term = leader.status().term;
    for (const from of ["n2", "n3"])
      leader.step({ type: "voteResp", from, to: "n1", term, reject: false });
    assert.equal(leader.status().role, "leader");
    leader.advance(leader.ready()); // persists the no-op at index 3
    // Two followers hold index 2 (an entry of term 2): with the leader, a majority of five.
    for (const from of ["n2", "n3"]) {
      leader.step({
        type: "appendResp",
        from,
        to: "n1",
        term,
        reject: false,
        index: 2,
        hintIndex: 0,
        hintTerm: 0,
      });
    }
    assert.equal(
      leader.status().commit,
      1,
      "index 2 is on a majority but from an earlier term: not committed",
    );
    for (const from of ["n2", "n3"]) {
      leader.step({
        type: "appendResp",
        from,
        to: "n1",
        term,
        reject: false,
        index: 3,
        hintIndex: 0,
        hintTerm: 0,
      });
    }
    assert.equal(
      leader.status().commit,
      3,
      "the current term's entry commits, and everything before it",
    );
  });

  test("fast back-off: a follower with a long divergent log is repaired in a few round trips", () => {
    const sim = cluster({ maxMessageBytes: 1 << 20, maxInflight: 64 });
    const old = elect(sim);
    const rest = ids.filter((id) => id !== old);
    sim.isolate(old);
    for (let i = 0; i < 200; i++) sim.write(old, "set", "junk", String(i));
    sim.deliverAll();
    assert.ok(sim.tickUntil(() => rest.some((id) => sim.raft(id).status().role === "leader"), 200));
    for (let i = 0; i < 50; i++) sim.write(sim.leader()!, "set", "good", String(i));
    sim.deliverAll();
    sim.heal();
    const newLeader = sim.leader()!;
    let appendsToOld = 0;
    const raft = sim.raft(newLeader);
    const originalReady = raft.ready.bind(raft);
    raft.ready = () => {
      const ready = originalReady();
      appendsToOld += ready.messages.filter((m) => m.type === "append" && m.to === old).length;
      return ready;
    };
    assert.ok(sim.tickUntil(() => sim.read(old, "good") === "49", 50));
    assert.ok(appendsToOld < 20, `took ${appendsToOld} appends, not one per divergent entry`);
  });
});

describe("reads", () => {
  test("ReadIndex on the leader and through a follower sees every committed write", () => {
    const sim = cluster();
    const leader = elect(sim);
    commitWrite(sim, "k", "v1");
    const follower = ids.find((id) => id !== leader)!;
    assert.ok(sim.get(follower, "k"));
    assert.ok(sim.get(leader, "k"));
    sim.deliverAll();
    sim.tickUntil(
      () => sim.history.filter((op) => op.kind === "get").every((op) => op.returned !== undefined),
      20,
    );
    for (const op of sim.history.filter((o) => o.kind === "get")) assert.equal(op.result, "v1");
  });

  test("reads that arrive before a read round leaves share it; a later read starts its own", () => {
    const sim = cluster();
    const leader = elect(sim);
    commitWrite(sim, "k", "v1");
    const raft = sim.raft(leader);
    for (const context of ["r1", "r2", "r3"]) assert.ok(raft.readIndex(context));
    const first = raft.ready();
    const round = first.messages.filter((m) => m.type === "heartbeat");
    assert.deepEqual(
      round.map((m) => (m.type === "heartbeat" ? m.context : "")),
      ["r1", "r1"],
      "one heartbeat per follower for three reads",
    );
    raft.advance(first);
    assert.ok(raft.readIndex("r4"));
    const second = raft.ready();
    assert.deepEqual(
      second.messages.flatMap((m) => (m.type === "heartbeat" ? [m.context] : [])),
      ["r4", "r4"],
      "a read after the round left needs a round of its own",
    );
    raft.advance(second);
    const term = raft.status().term;
    raft.step({ type: "heartbeatResp", from: round[0]!.to, to: leader, term, context: "r1" });
    const third = raft.ready();
    assert.deepEqual(
      third.readStates.map((r) => r.context),
      ["r1", "r2", "r3"],
      "one follower's answer makes a quorum for the whole round, not for r4",
    );
    raft.advance(third);
  });

  test("a partitioned old leader never answers a read", () => {
    const sim = cluster();
    const old = elect(sim);
    commitWrite(sim, "k", "old");
    sim.isolate(old);
    const rest = ids.filter((id) => id !== old);
    assert.ok(sim.tickUntil(() => rest.some((id) => sim.raft(id).status().role === "leader"), 200));
    commitWrite(sim, "k", "new");
    if (sim.raft(old).status().role === "leader") sim.get(old, "k");
    for (let i = 0; i < 50; i++) sim.tick();
    const stale = sim.history.filter(
      (op) => op.kind === "get" && op.returned !== undefined && op.result === "old",
    );
    assert.deepEqual(stale, [], "no read returned the old value");
  });
});

describe("leadership transfer and membership", () => {
  test("leadership moves to the target once it has caught up", () => {
    const sim = cluster();
    const leader = elect(sim);
    commitWrite(sim, "a", "1");
    const target = ids.find((id) => id !== leader)!;
    assert.ok(sim.raft(leader).transferLeadership(target));
    sim.deliverAll();
    assert.ok(sim.tickUntil(() => sim.leader() === target, 10));
    assert.equal(sim.raft(leader).status().role, "follower");
  });

  test("add a learner, promote it when caught up, then remove the leader itself", () => {
    const sim = cluster();
    const leader = elect(sim);
    commitWrite(sim, "before", "x");
    sim.addNode("n4", { voters: ids, learners: [] });
    assert.ok(sim.raft(leader).proposeMembershipChange({ type: "addLearner", node: "n4" }).ok);
    sim.deliverAll();
    assert.ok(
      sim.tickUntil(() => sim.read("n4", "before") === "x", 50),
      "the learner catches up",
    );
    assert.equal(sim.raft(leader).status().conf.learners.includes("n4"), true);
    assert.ok(
      sim.tickUntil(
        () => sim.raft(leader).proposeMembershipChange({ type: "promote", node: "n4" }).ok,
        20,
      ),
    );
    sim.deliverAll();
    assert.ok(sim.tickUntil(() => sim.raft(leader).status().conf.voters.includes("n4"), 20));
    assert.ok(
      sim.tickUntil(
        () => sim.raft(leader).proposeMembershipChange({ type: "remove", node: leader }).ok,
        20,
      ),
    );
    sim.deliverAll();
    assert.ok(
      sim.tickUntil(() => sim.leader() !== undefined && sim.leader() !== leader, 200),
      "a remaining voter leads",
    );
    const newLeader = sim.leader()!;
    assert.deepEqual(
      [...sim.raft(newLeader).status().conf.voters].sort(),
      ["n1", "n2", "n3", "n4"].filter((id) => id !== leader),
    );
    commitWrite(sim, "after", "y");
    assert.ok(sim.tickUntil(() => sim.read("n4", "after") === "y", 20));
  });

  test("a second membership change waits until the first is applied", () => {
    const sim = cluster();
    const leader = elect(sim);
    assert.ok(sim.raft(leader).proposeMembershipChange({ type: "addLearner", node: "n4" }).ok);
    const second = sim.raft(leader).proposeMembershipChange({ type: "addLearner", node: "n5" });
    assert.deepEqual(second, { ok: false, reason: "confChangePending", leader });
  });
});

describe("snapshots", () => {
  test("a follower far behind catches up by a snapshot streamed in small pieces", () => {
    const sim = cluster({ snapshotEvery: 20, maxSnapshotPieceBytes: 32 });
    const leader = elect(sim);
    const lagging = ids.find((id) => id !== leader)!;
    sim.crash(lagging);
    for (let i = 0; i < 100; i++) commitWrite(sim, `k${i % 7}`, String(i));
    assert.ok(sim.storedSnapshot(leader).index > 0, "the leader compacted its log");
    sim.start(lagging);
    assert.ok(
      sim.tickUntil(() => sim.appliedIndex(lagging) >= sim.appliedIndex(leader), 200),
      "it catches up",
    );
    for (let i = 0; i < 7; i++) assert.equal(sim.read(lagging, `k${i}`), sim.read(leader, `k${i}`));
    assert.ok(sim.storedSnapshot(lagging).index > 0, "through a snapshot");
    sim.checkLogMatching();
  });

  test("a restart right after installing a snapshot recovers from it", () => {
    const sim = cluster({ snapshotEvery: 10 });
    const leader = elect(sim);
    const lagging = ids.find((id) => id !== leader)!;
    sim.crash(lagging);
    for (let i = 0; i < 40; i++) commitWrite(sim, "k", String(i));
    sim.start(lagging);
    assert.ok(sim.tickUntil(() => sim.storedSnapshot(lagging).index > 0, 100));
    sim.crash(lagging);
    sim.start(lagging);
    assert.ok(sim.tickUntil(() => sim.read(lagging, "k") === "39", 100));
  });
});
