import assert from "node:assert/strict";
import { test } from "node:test";
import { fsError } from "../common/errors.ts";
import type { FileServiceApi } from "../transport/file-service-api.ts";
import { meteredFileService } from "./metered-file-service.ts";
import { NodeMetrics } from "./node-metrics.ts";

test("events and state reach the text format under Prometheus's names", async () => {
  const metrics = new NodeMetrics({ nodeId: "n1", topology: "hyperconverged", roles: ["data"] });
  metrics.raftObserver.onFsync?.(0.002);
  metrics.raftObserver.onLeaderChange?.("n2", 3);
  metrics.raftObserver.onProposalSettled?.("committed");
  metrics.raftObserver.onProposalSettled?.("failed");
  metrics.traffic.received("ChunkService", 100);
  metrics.traffic.sent("ChunkService", 40);
  metrics.countDamagedCopy();
  metrics.readFiguresFrom(async () => ({
    raft: {
      role: "follower",
      term: 7,
      leaderId: "n2",
      commitIndex: 12,
      appliedIndex: 11,
      pendingProposals: 3,
    },
    chunks: { chunks: 4, bytes: 4096 },
    disk: { freeBytes: 10, totalBytes: 20, alarm: true },
    membershipStale: true,
  }));
  const text = await metrics.text();
  for (const line of [
    'sandstore_node_info{node="n1",topology="hyperconverged",roles="data"} 1',
    "sandstore_raft_term 7",
    "sandstore_raft_has_leader 1",
    "sandstore_raft_is_leader 0",
    "sandstore_raft_commit_index 12",
    "sandstore_raft_applied_index 11",
    "sandstore_raft_proposals_pending 3",
    "sandstore_raft_leader_changes_seen_total 1",
    'sandstore_raft_proposals_total{outcome="committed"} 1',
    'sandstore_raft_proposals_total{outcome="failed"} 1',
    "sandstore_raft_wal_fsync_duration_seconds_count 1",
    "sandstore_chunk_store_chunks 4",
    "sandstore_chunk_store_bytes 4096",
    "sandstore_chunk_store_damaged_copies_total 1",
    "sandstore_disk_alarm 1",
    "sandstore_membership_stale 1",
    'sandstore_service_received_bytes_total{service="ChunkService"} 100',
    'sandstore_service_sent_bytes_total{service="ChunkService"} 40',
  ])
    assert.ok(text.split("\n").includes(line), line);
  // Totals the node keeps are set, not added up, scrape after scrape.
  assert.equal((await metrics.text()).includes("sandstore_raft_term 7"), true);
  assert.doesNotMatch(text, /^nodejs_active_handles_total/m);
});

test("a data server exposes no Raft metrics", async () => {
  const metrics = new NodeMetrics({
    nodeId: "d1",
    topology: "disaggregated",
    roles: ["data"],
    raftMember: false,
  });
  assert.doesNotMatch(await metrics.text(), /^sandstore_raft_/m);
});

test("the metered file service times calls by result and passes errors through unchanged", async () => {
  const seen: string[] = [];
  const refused = fsError("ENOENT", "/missing");
  const unused = async (): Promise<never> => {
    throw new Error("not called by this test");
  };
  const api: FileServiceApi = {
    stat: async () => {
      throw refused;
    },
    create: unused,
    placement: unused,
    mkdir: unused,
    rmdir: unused,
    unlink: unused,
    rename: unused,
    link: unused,
    symlink: unused,
    mknod: unused,
    setAttr: unused,
    readDir: unused,
    writeChunk: unused,
    read: () =>
      (async function* () {
        yield Buffer.from("a");
        yield Buffer.from("b");
      })(),
    status: unused,
  };
  const metered = meteredFileService(api, {
    observeFileOperation(operation, result, seconds) {
      assert.ok(seconds >= 0);
      seen.push(`${operation}:${result}`);
    },
  });
  await assert.rejects(metered.stat({ path: "/missing", access: 0 }), (error) => error === refused);
  const pieces: Buffer[] = [];
  for await (const piece of metered.read({ path: "/f", inodeId: 1, offset: 0, length: 2 }))
    pieces.push(piece);
  assert.equal(Buffer.concat(pieces).toString(), "ab");
  await assert.rejects(metered.status(), /not called/);
  assert.deepEqual(seen, ["stat:ENOENT", "read:ok"]);
});
