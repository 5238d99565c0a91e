import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import { NotLeaderError } from "../common/errors.ts";
import type { MetadataCommand } from "../gen/sandstore/v1/metadata.ts";
import { MemoryMetadataStore } from "../metadata/memory-metadata-store.ts";
import type { Message } from "../raft/node.ts";
import { DiskStorage } from "../raft/storage/disk-storage.ts";
import { RaftReplicator } from "./raft-replicator.ts";

const tempDir = temporaryDirectories("sandstore-raft-repl-");

const ids = ["m1", "m2", "m3"];
const mkdir = (path: string): MetadataCommand => ({
  command: {
    $case: "mkdir",
    value: { path, mode: 0o755, uid: 0, gid: 0, recursive: true, nowMs: 1 },
  },
});

/** Three replicators on real disk storage, joined by an in-process transport. */
async function group(snapshotEntries = 10_000) {
  const root = await tempDir("sandstore-raft-repl-");
  const replicas = new Map<string, { replicator: RaftReplicator; store: MemoryMetadataStore }>();
  const inboxes = new Map<string, (message: Message) => void>();
  const start = async (id: string) => {
    const store = new MemoryMetadataStore();
    const replicator = new RaftReplicator({
      id,
      store,
      tempDir: root,
      storage: new DiskStorage({ dir: join(root, id), initialConf: { voters: ids, learners: [] } }),
      transport: {
        send: (m: Message) => setImmediate(() => inboxes.get(m.to)?.(m)),
        receive: (deliver) => inboxes.set(id, deliver),
      },
      addresses: (nodeId) => `${nodeId}.example:7001`,
      tickMs: 10,
      snapshotEntries,
    });
    replicas.set(id, { replicator, store });
    await replicator.start();
  };
  for (const id of ids) await start(id);
  const leader = async () => {
    for (let i = 0; i < 1000; i++) {
      for (const [id, r] of replicas) if (r.replicator.status().role === "leader") return id;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error("no leader");
  };
  const stop = async (id: string) => {
    await replicas.get(id)?.replicator.stop();
    replicas.delete(id);
  };
  return {
    replicas,
    start,
    stop,
    leader,
    close: async () => Promise.all([...replicas.keys()].map(stop)),
  };
}

test("commands proposed on the leader resolve with their result and apply on every replica", async () => {
  const g = await group();
  const leader = await g.leader();
  const result = await g.replicas.get(leader)!.replicator.propose(mkdir("/a/b"));
  assert.equal(result.errno, "");
  assert.ok(result.inode);
  const rejected = await g.replicas.get(leader)!.replicator.propose({
    command: { $case: "rmdir", value: { path: "/a", nowMs: 2 } },
  });
  assert.equal(
    rejected.errno,
    "ENOTEMPTY",
    "a rejected command resolves with its errno, the same on every replica",
  );
  for (const [id, r] of g.replicas) {
    await r.replicator.readBarrier();
    assert.equal(r.store.stat("/a/b").type, 2, `replica ${id}`);
  }
  const follower = ids.find((id) => id !== leader)!;
  await assert.rejects(g.replicas.get(follower)!.replicator.propose(mkdir("/x")), (error) => {
    assert.ok(error instanceof NotLeaderError);
    assert.equal(error.leaderAddress, `${leader}.example:7001`);
    return true;
  });
  await g.close();
});

test("a replica that restarts with an empty store catches up from a namespace snapshot", async () => {
  const g = await group(25);
  let leader = await g.leader();
  const lagging = ids.find((id) => id !== leader)!;
  await g.stop(lagging);
  for (let i = 0; i < 120; i++)
    await g.replicas.get(leader)!.replicator.propose(mkdir(`/dir-${i % 30}/sub-${i}`));
  // Restarted with a fresh in-memory store: everything must come back from the snapshot and the log.
  await g.start(lagging);
  leader = await g.leader();
  const fresh = g.replicas.get(lagging)!;
  for (
    let i = 0;
    i < 2000 && fresh.store.appliedIndex() < g.replicas.get(leader)!.store.appliedIndex();
    i++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await fresh.replicator.readBarrier();
  assert.equal(fresh.store.readDir("/", "", 1000).entries.length, 30);
  assert.equal(fresh.store.stat("/dir-29/sub-119").type, 2);
  assert.deepEqual(fresh.store.counts(), g.replicas.get(leader)!.store.counts());
  await g.close();
});
