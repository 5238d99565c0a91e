import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  MembershipChangeRefusedError,
  NotLeaderError,
  OverloadedError,
  RaftNode,
  StoppedError,
} from "./node.ts";
import { DiskStorage } from "./storage/disk-storage.ts";
import { MapStateMachine, MemoryCluster } from "./testing/memory-cluster.ts";

const encode = (text: string) => new TextEncoder().encode(text);

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("RaftNode on real disks", () => {
  const clusters: MemoryCluster[] = [];
  after(async () => {
    for (const c of clusters) await c.stop();
  });
  async function cluster(ids = ["a", "b", "c"], options = {}) {
    const c = new MemoryCluster(ids, options);
    clusters.push(c);
    await c.start();
    return c;
  }

  test("a proposal resolves with its apply result; followers apply it too", async () => {
    const c = await cluster();
    const leader = await c.waitForLeader();
    const index = await leader.node.propose(encode("k=v"));
    assert.equal(typeof index, "number");
    await until(
      () => [...c.nodes.values()].every((n) => n.machine.data.get("k") === "v"),
      "every node to apply",
    );
  });

  test("a follower refuses proposals with the leader's id and address", async () => {
    const c = await cluster();
    const leader = await c.waitForLeader();
    await leader.node.propose(encode("x=1"));
    const follower = [...c.nodes.values()].find((n) => n.id !== leader.id)!;
    await until(() => follower.node.status().lead === leader.id, "the follower to know its leader");
    await assert.rejects(follower.node.propose(encode("y=2")), (error) => {
      assert.ok(error instanceof NotLeaderError);
      assert.equal(error.leaderId, leader.id);
      assert.equal(error.leaderAddress, `address-of-${leader.id}`);
      return true;
    });
  });

  test("group commit: many concurrent proposals share few fsyncs", async () => {
    const c = await cluster();
    const leader = await c.waitForLeader();
    const before = leader.node.stats.fsyncs;
    await Promise.all(
      Array.from({ length: 500 }, (_, i) => leader.node.propose(encode(`k${i}=${i}`))),
    );
    const fsyncs = leader.node.stats.fsyncs - before;
    assert.ok(fsyncs < 250, `${fsyncs} fsyncs for 500 proposals`);
  });

  test("reads through the barrier see every write acknowledged before them, on any node", async () => {
    const c = await cluster();
    const leader = await c.waitForLeader();
    await leader.node.propose(encode("r=1"));
    for (const n of c.nodes.values()) {
      await n.node.readBarrier();
      assert.equal(n.machine.data.get("r"), "1", `read on ${n.id}`);
    }
  });

  test("a follower's read whose request to the leader is lost is asked again, and completes", async () => {
    const c = await cluster();
    const leader = await c.waitForLeader();
    await leader.node.propose(encode("lossy=1"));
    const follower = [...c.nodes.values()].find((n) => n.id !== leader.id)!;
    let lost = 0;
    c.drops = (m) => m.type === "readIndex" && m.from === follower.id && lost++ === 0;
    await follower.node.readBarrier(5000);
    assert.equal(lost, 2, "the first request was lost; the second got through");
    assert.equal(follower.machine.data.get("lossy"), "1");
  });

  test("an isolated leader acknowledges no writes and confirms no reads", async () => {
    const c = await cluster(["a", "b", "c"], { timeoutMs: 1000 });
    const old = await c.waitForLeader();
    c.isolated.add(old.id);
    const write = old.node.propose(encode("lost=1")).then(
      () => "ok",
      (e: Error) => e.name,
    );
    const read = old.node.readBarrier().then(
      () => "ok",
      (e: Error) => e.name,
    );
    assert.notEqual(await write, "ok");
    assert.notEqual(await read, "ok");
    const fresh = await c.waitForLeader();
    assert.notEqual(fresh.id, old.id);
    await fresh.node.propose(encode("after=1"));
    c.isolated.clear();
    await until(() => old.machine.data.get("after") === "1", "the old leader to catch up");
    assert.equal(old.machine.data.get("lost"), undefined);
  });

  test("a restarted node recovers from its disk; a lagging one catches up by snapshot", async () => {
    const c = await cluster(["a", "b", "c"], { snapshotEntries: 50 });
    let leader = await c.waitForLeader();
    const lagging = [...c.ids].find((id) => id !== leader.id)!;
    await c.stopNode(lagging);
    for (let i = 0; i < 300; i++) await leader.node.propose(encode(`k${i % 10}=${i}`));
    assert.ok(leader.node.status().snapshotIndex > 0, "the leader compacted its log");
    const back = await c.startNode(lagging);
    leader = await c.waitForLeader();
    await until(
      () => back.machine.appliedIndex() >= leader.machine.appliedIndex(),
      "the lagging node to catch up",
    );
    assert.deepEqual([...back.machine.data].sort(), [...leader.machine.data].sort());
    assert.ok(back.node.status().snapshotIndex > 0, "it caught up through a snapshot");
    // A full restart of every node keeps everything.
    for (const id of c.ids) await c.stopNode(id);
    for (const id of c.ids) await c.startNode(id);
    const again = await c.waitForLeader();
    await again.node.readBarrier();
    assert.equal(again.machine.data.get("k9"), "299");
  });

  test("a single node commits on its own; stop fails what is pending; a full queue is refused", async () => {
    const c = await cluster(["solo"], { maxPendingProposals: 5 });
    const solo = await c.waitForLeader();
    assert.ok((await solo.node.propose(encode("a=1"))) !== undefined);
    const flood = Array.from({ length: 20 }, (_, i) =>
      solo.node.propose(encode(`f${i}=1`)).catch((e) => e),
    );
    const outcomes = await Promise.all(flood);
    assert.ok(
      outcomes.some((o) => o instanceof OverloadedError),
      "beyond the bound, proposals are refused",
    );
    await c.stopNode("solo");
    await assert.rejects(solo.node.propose(encode("b=2")), StoppedError);
  });

  test("a follower removed and added back: a learner out of reach is not promoted; once caught up it is", async () => {
    const c = await cluster();
    const leader = await c.waitForLeader();
    const follower = [...c.nodes.values()].find((n) => n.id !== leader.id)!;
    await leader.node.proposeMembershipChange({ type: "remove", node: follower.id });
    assert.ok(!leader.node.status().conf.voters.includes(follower.id));
    // Two voters left: they commit without the removed node.
    await leader.node.propose(encode("while-out=1"));
    c.isolated.add(follower.id);
    await leader.node.proposeMembershipChange({ type: "addLearner", node: follower.id });
    assert.deepEqual(leader.node.status().conf.learners, [follower.id]);
    await assert.rejects(
      leader.node.proposeMembershipChange({ type: "promote", node: follower.id }),
      (error) => error instanceof MembershipChangeRefusedError && error.reason === "notCaughtUp",
    );
    c.isolated.delete(follower.id);
    await until(() => follower.machine.data.get("while-out") === "1", "the learner to catch up");
    for (;;) {
      try {
        await leader.node.proposeMembershipChange({ type: "promote", node: follower.id });
        break;
      } catch (error) {
        // Caught up with what it applied, perhaps not yet with the newest commit index.
        assert.ok(error instanceof MembershipChangeRefusedError, String(error));
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    assert.ok(leader.node.status().conf.voters.includes(follower.id));
    assert.deepEqual(leader.node.status().conf.learners, []);
  });

  test("a torn WAL tail is reported at start with the file it was cut from", async () => {
    const c = await cluster(["torn"]);
    const solo = await c.waitForLeader();
    await solo.node.propose(encode("a=1"));
    await c.stopNode("torn");
    const wal = join(solo.dir, "wal");
    const segment = join(wal, (await readdir(wal)).sort().at(-1)!);
    const bytes = await readFile(segment);
    await writeFile(segment, bytes.subarray(0, bytes.length - 3));
    const reports: Array<[string, number]> = [];
    const node = new RaftNode({
      id: "torn",
      storage: new DiskStorage({ dir: solo.dir, initialConf: { voters: ["torn"], learners: [] } }),
      // Alone in its group: nothing to send, nothing arrives.
      transport: { send: () => {}, receive: () => {} },
      stateMachine: new MapStateMachine(),
      onTornTail: (file, cut) => reports.push([file, cut]),
    });
    await node.start();
    await node.stop();
    assert.equal(reports.length, 1);
    assert.equal(reports[0]![0], segment);
    assert.ok(reports[0]![1] > 0);
  });
});
