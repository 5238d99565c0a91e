import assert from "node:assert/strict";
import { test } from "node:test";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import { SandstoreError, UnavailableError } from "../common/errors.ts";
import { waitFor } from "../common/wait-for.ts";
import type { Member, Membership, NodeRole } from "../membership/membership.ts";
import type { SettingsConflictError } from "../metadata/cluster-settings.ts";
import { MemoryMetadataStore } from "../metadata/memory-metadata-store.ts";
import { SortedPlacement } from "../placement/sorted-placement.ts";
import { LocalReplicator } from "../replication/local-replicator.ts";
import { ClusterBootstrap } from "./cluster-bootstrap.ts";
import { ReplicatedControlPlane } from "./replicated-control-plane.ts";

const tempDir = temporaryDirectories("sandstore-control-");
const CHUNK = 4096;

/** A membership whose members a test sets: who is live, with which roles and free space. */
class SetMembership implements Membership {
  constructor(
    public all: Member[],
    public live: Set<string>,
  ) {}
  self() {
    const [first] = this.all;
    if (!first) throw new Error("no members");
    return first;
  }
  members(role?: NodeRole) {
    return this.all.filter((m) => role === undefined || m.roles.includes(role));
  }
  liveMembers(role?: NodeRole) {
    return this.members(role).filter((m) => this.live.has(m.id));
  }
  isStale() {
    return false;
  }
  async close() {}
}

const member = (id: string, roles: NodeRole[], freeBytes?: number): Member => ({
  id,
  address: `${id}:1`,
  roles,
  freeBytes,
});

async function controlPlane(membership: Membership) {
  const store = new MemoryMetadataStore();
  const replicator = new LocalReplicator({ dir: await tempDir(), store, nodeId: "m1" });
  await replicator.start();
  const control = new ReplicatedControlPlane({
    store,
    replicator,
    membership,
    placement: new SortedPlacement(),
  });
  return { control, replicator };
}

test("settings are unavailable until bootstrap decides them; a second bootstrap keeps the first", async () => {
  const { control, replicator } = await controlPlane(
    new SetMembership([member("m1", ["metadata", "data"])], new Set(["m1"])),
  );
  await assert.rejects(control.settings(), UnavailableError);
  const first = { chunkSize: CHUNK, replicationFactor: 1, writeQuorum: 1 };
  assert.deepEqual(await control.bootstrap(first), first);
  assert.deepEqual(
    await control.bootstrap({ chunkSize: 2 * CHUNK, replicationFactor: 1, writeQuorum: 1 }),
    first,
    "the first decision stands",
  );
  await replicator.stop();
});

test("a write is placed on live data nodes with room only: ENOSPC when all are full, EAGAIN when too few live", async () => {
  const membership = new SetMembership(
    [
      member("d1", ["data"], 10 * CHUNK),
      member("d2", ["data"], 10 * CHUNK),
      member("d3", ["data"], 10 * CHUNK),
      member("m1", ["metadata"]),
    ],
    new Set(["d1", "d2", "d3", "m1"]),
  );
  const { control, replicator } = await controlPlane(membership);
  await control.bootstrap({ chunkSize: CHUNK, replicationFactor: 2, writeQuorum: 2 });
  const file = await control.create("/f", { mode: 0o644, exclusive: true, truncate: false });
  const targets = async () =>
    (await control.prepareWrite(file.id, 0, "/f")).targets.map((node) => node.id);
  assert.deepEqual(await targets(), ["d1", "d2"], "never the metadata-only node");
  membership.all = membership.all.map((m) => (m.id === "d1" ? { ...m, freeBytes: 100 } : m));
  assert.deepEqual(await targets(), ["d2", "d3"], "a full node is passed over");
  membership.all = membership.all.map((m) =>
    m.roles.includes("data") ? { ...m, freeBytes: 0 } : m,
  );
  await assert.rejects(
    targets(),
    (error: unknown) => error instanceof SandstoreError && error.code === "ENOSPC",
  );
  membership.all = membership.all.map((m) => ({ ...m, freeBytes: undefined }));
  membership.live = new Set(["d1", "m1"]);
  await assert.rejects(
    targets(),
    (error: unknown) =>
      error instanceof SandstoreError &&
      error.code === "EAGAIN" &&
      /1 live data nodes/.test(error.message),
  );
  await replicator.stop();
});

test("bootstrap proposes this node's flags on the leader; flags that disagree with the decided ones are a conflict", async () => {
  const { control, replicator } = await controlPlane(
    new SetMembership([member("m1", ["metadata", "data"])], new Set(["m1"])),
  );
  await control.bootstrap({ chunkSize: CHUNK, replicationFactor: 1, writeQuorum: 1 });
  const conflicts: SettingsConflictError[] = [];
  const bootstrap = new ClusterBootstrap({
    control,
    requested: { chunkSize: 2 * CHUNK },
    onConflict: (error) => conflicts.push(error),
    intervalMs: 5,
  });
  bootstrap.start();
  await waitFor(() => conflicts.length > 0, "the conflict to be found");
  await bootstrap.stop();
  assert.equal(conflicts.length, 1);
  assert.match(
    conflicts[0]?.message ?? "",
    /--chunk-size 8192 was given, but the cluster was created with 4096/,
  );
  await replicator.stop();
});
