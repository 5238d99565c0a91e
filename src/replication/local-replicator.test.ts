import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import { type SandstoreError, UnavailableError } from "../common/errors.ts";
import { MemoryMetadataStore } from "../metadata/memory-metadata-store.ts";
import type { LogEntry, MetadataCommand, MetadataStore } from "../metadata/metadata-store.ts";
import { LocalReplicator } from "./local-replicator.ts";
import { encodeEntryRecord } from "./local-wal.ts";

const tempDir = temporaryDirectories("sandstore-repl-");

const commands: MetadataCommand[] = [
  {
    command: {
      $case: "mkdir",
      value: { path: "/d", mode: 0o755, uid: 0, gid: 0, recursive: false, nowMs: 1 },
    },
  },
  {
    command: {
      $case: "create",
      value: {
        path: "/d/a",
        mode: 0o644,
        uid: 0,
        gid: 0,
        exclusive: true,
        truncate: false,
        access: 0,
        nowMs: 2,
      },
    },
  },
  {
    command: {
      $case: "create",
      value: {
        path: "/d/b",
        mode: 0o644,
        uid: 0,
        gid: 0,
        exclusive: true,
        truncate: false,
        access: 0,
        nowMs: 3,
      },
    },
  },
  { command: { $case: "rename", value: { from: "/d/a", to: "/d/b", nowMs: 4 } } },
  {
    command: {
      $case: "create",
      value: {
        path: "/d/a",
        mode: 0o600,
        uid: 0,
        gid: 0,
        exclusive: true,
        truncate: false,
        access: 0,
        nowMs: 5,
      },
    },
  },
  { command: { $case: "unlink", value: { path: "/d/b", nowMs: 6 } } },
];
const entries: LogEntry[] = commands.map((command, i) => ({ index: i + 1, command }));

function snapshot(store: MetadataStore): unknown {
  return {
    applied: store.appliedIndex(),
    counts: store.counts(),
    root: store.readDir("/", "", 100).entries,
    d: (() => {
      try {
        return store.readDir("/d", "", 100).entries;
      } catch (error) {
        return (error as SandstoreError).code;
      }
    })(),
  };
}

function storeAfter(count: number): MemoryMetadataStore {
  const store = new MemoryMetadataStore();
  store.apply(entries.slice(0, count));
  return store;
}

test("a crash at any byte of the last batch, with the store at any applied index, recovers the longest durable prefix", async () => {
  const dir = await tempDir();
  const firstBatch = Buffer.concat(entries.slice(0, 3).map(encodeEntryRecord));
  const lastBatch = entries.slice(3).map(encodeEntryRecord);
  const lastBytes = Buffer.concat(lastBatch);
  const references = entries.map((_, i) => snapshot(storeAfter(i + 1)));
  references.unshift(snapshot(storeAfter(0)));
  for (let cut = 0; cut <= lastBytes.length; cut++) {
    // How many whole records of the last batch survive a cut at `cut`.
    let whole = 0;
    for (let sum = 0; whole < lastBatch.length && sum + lastBatch[whole]!.length <= cut; whole++) {
      sum += lastBatch[whole]!.length;
    }
    const durable = 3 + whole;
    // The store may have flushed anything from nothing up to what the log holds.
    for (let storeApplied = 0; storeApplied <= durable; storeApplied++) {
      await writeFile(
        join(dir, "metadata.wal"),
        Buffer.concat([firstBatch, lastBytes.subarray(0, cut)]),
      );
      const store = storeAfter(storeApplied);
      const replicator = new LocalReplicator({ dir, store, nodeId: "n1" });
      await replicator.start();
      assert.deepEqual(
        snapshot(store),
        references[durable],
        `cut ${cut}, store at ${storeApplied}`,
      );
      // New proposals continue right after the recovered prefix.
      const result = await replicator.propose({
        command: {
          $case: "mkdir",
          value: { path: "/after", mode: 0o755, uid: 0, gid: 0, recursive: true, nowMs: 9 },
        },
      });
      assert.equal(result.errno, "");
      assert.equal(store.appliedIndex(), durable + 1);
      await replicator.stop();
    }
  }
});

test("concurrent proposals are acknowledged in order, each with its own result, after restart too", async () => {
  const dir = await tempDir();
  const store = new MemoryMetadataStore();
  const replicator = new LocalReplicator({ dir, store, nodeId: "n1" });
  await replicator.start();
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      replicator.propose({
        command: {
          $case: "create",
          value: {
            path: `/f${i % 150}`,
            mode: 0o644,
            uid: 0,
            gid: 0,
            exclusive: true,
            truncate: false,
            access: 0,
            nowMs: i,
          },
        },
      }),
    ),
  );
  assert.equal(results.filter((r) => r.errno === "").length, 150);
  assert.equal(results.filter((r) => r.errno === "EEXIST").length, 50);
  assert.deepEqual(replicator.status(), {
    role: "leader",
    term: 1,
    commitIndex: 200,
    appliedIndex: 200,
    leaderId: "n1",
  });
  await replicator.stop();
  await assert.rejects(
    replicator.propose(commands[0]!),
    (e: unknown) => e instanceof UnavailableError && e.errno === "EAGAIN",
  );
  const fresh = new MemoryMetadataStore();
  let replayed = 0;
  const again = new LocalReplicator({
    dir,
    store: fresh,
    nodeId: "n1",
    onRecovery: (info) => {
      replayed = info.replayed;
    },
  });
  await again.start();
  assert.equal(replayed, 200);
  assert.equal(fresh.counts().inodes, 151);
  await again.stop();
});

test("a full proposal queue is refused as unavailable, not buffered without bound", async () => {
  const dir = await tempDir();
  const replicator = new LocalReplicator({
    dir,
    store: new MemoryMetadataStore(),
    nodeId: "n1",
    maxQueuedProposals: 5,
    maxBatchEntries: 1,
  });
  await replicator.start();
  const proposals = Array.from({ length: 20 }, (_, i) =>
    replicator.propose({
      command: {
        $case: "mkdir",
        value: { path: `/d${i}`, mode: 0o755, uid: 0, gid: 0, recursive: false, nowMs: i },
      },
    }),
  );
  const settled = await Promise.allSettled(proposals);
  const refused = settled.filter((s) => s.status === "rejected");
  assert.ok(refused.length > 0);
  for (const r of refused)
    assert.ok(r.status === "rejected" && r.reason instanceof UnavailableError, String(r));
  await replicator.stop();
});

test("the WAL is reset once it passes its limit and the store is durable, and recovery still works", async () => {
  const dir = await tempDir();
  const store = new MemoryMetadataStore();
  const replicator = new LocalReplicator({ dir, store, nodeId: "n1", walResetBytes: 1024 });
  await replicator.start();
  for (let i = 0; i < 100; i++) {
    await replicator.propose({
      command: {
        $case: "mkdir",
        value: { path: `/d${i}`, mode: 0o755, uid: 0, gid: 0, recursive: false, nowMs: i },
      },
    });
  }
  await replicator.stop();
  const again = new LocalReplicator({ dir, store, nodeId: "n1" });
  await again.start();
  assert.equal(store.appliedIndex(), 100);
  const result = await again.propose({
    command: {
      $case: "mkdir",
      value: { path: "/last", mode: 0o755, uid: 0, gid: 0, recursive: false, nowMs: 1 },
    },
  });
  assert.equal(result.errno, "");
  assert.equal(store.appliedIndex(), 101);
  await again.stop();
});

test("a proposal made the moment the one before it resolves is applied too (no lost wake-up)", async () => {
  const replicator = new LocalReplicator({
    dir: await tempDir(),
    store: new MemoryMetadataStore(),
    nodeId: "n1",
  });
  await replicator.start();
  // Each proposal is made a few microtasks after the one before resolved: one of these
  // lands between the drain loop finding its queue empty and the drain's end, where a
  // proposal was once queued with no drain left to write it.
  for (let hops = 0; hops < 12; hops++) {
    const result = await replicator.propose({
      command: {
        $case: "mkdir",
        value: { path: `/w${hops}`, mode: 0o755, uid: 0, gid: 0, recursive: false, nowMs: 1 },
      },
    });
    assert.equal(result.errno, "");
    for (let k = 0; k < hops; k++) await Promise.resolve();
  }
  const last = replicator.propose({
    command: {
      $case: "mkdir",
      value: { path: "/last", mode: 0o755, uid: 0, gid: 0, recursive: false, nowMs: 1 },
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<"stuck">((resolve) => {
    timer = setTimeout(() => resolve("stuck"), 5000);
  });
  const outcome = await Promise.race([last.then(() => "applied" as const), stuck]);
  clearTimeout(timer);
  assert.equal(outcome, "applied");
  assert.equal(replicator.status().appliedIndex, 13);
  await replicator.stop();
});
