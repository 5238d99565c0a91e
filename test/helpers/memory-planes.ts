/**
 * A leader's control and data planes in one process, over one in-memory chunk store per node
 * (the metadata is local: this is for data-path tests, not consensus). `wrap` lets a test put
 * faults between the planes and the stores.
 */
import { MemoryChunkStore } from "../../src/chunks/memory-chunk-store.ts";
import { fsError } from "../../src/common/errors.ts";
import { ReplicatedControlPlane } from "../../src/control/replicated-control-plane.ts";
import { TwoPhaseCoordinator } from "../../src/control/two-phase-coordinator.ts";
import { ChunkRepairer } from "../../src/data/chunk-repairer.ts";
import {
  copyThroughCaller,
  localReplicaAccess,
  type ReplicaAccess,
} from "../../src/data/replica-access.ts";
import { ReplicatedDataPlane } from "../../src/data/replicated-data-plane.ts";
import { ALL_ROLES } from "../../src/membership/membership.ts";
import { StaticMembership } from "../../src/membership/static-membership.ts";
import { defaultWriteQuorum } from "../../src/metadata/cluster-settings.ts";
import { MemoryMetadataStore } from "../../src/metadata/memory-metadata-store.ts";
import { SortedPlacement } from "../../src/placement/sorted-placement.ts";
import { LocalReplicator } from "../../src/replication/local-replicator.ts";

export async function memoryPlanes(options: {
  dir: string;
  nodes: readonly string[];
  chunkSize: number;
  /** R; default one copy on every node. */
  replicationFactor?: number;
  wrap?: (access: ReplicaAccess) => ReplicaAccess;
}) {
  const store = new MemoryMetadataStore();
  const replicator = new LocalReplicator({ dir: options.dir, store, nodeId: options.nodes[0]! });
  await replicator.start();
  const membership = new StaticMembership(
    options.nodes[0]!,
    options.nodes.map((id, i) => ({ id, address: `127.0.0.1:${i + 1}`, roles: ALL_ROLES })),
  );
  const placement = new SortedPlacement();
  const replicationFactor = options.replicationFactor ?? options.nodes.length;
  const control = new ReplicatedControlPlane({ store, replicator, membership, placement });
  await control.bootstrap({
    chunkSize: options.chunkSize,
    replicationFactor,
    writeQuorum: defaultWriteQuorum(replicationFactor),
  });
  const stores = new Map(options.nodes.map((id) => [id, new MemoryChunkStore()]));
  const local = (nodeId: string) => {
    const chunks = stores.get(nodeId);
    if (!chunks) throw fsError("EAGAIN", "", `no node ${nodeId}`);
    return localReplicaAccess(nodeId, chunks);
  };
  const direct: ReplicaAccess = {
    // The planes are the first node's: its store is the nearest replica.
    localNodeId: options.nodes[0]!,
    writeChunk: (nodeId, chunkId, data) => local(nodeId).writeChunk(nodeId, chunkId, data),
    readChunk: (nodeId, chunkId, offset, length) =>
      local(nodeId).readChunk(nodeId, chunkId, offset, length),
    deleteChunk: (nodeId, chunkId) => local(nodeId).deleteChunk(nodeId, chunkId),
    listChunks: (nodeId) => local(nodeId).listChunks(nodeId),
    verifyChunk: (nodeId, chunkId, checksum) =>
      local(nodeId).verifyChunk(nodeId, chunkId, checksum),
    // Through the wrapped access, so a test's faults apply to a repair's reads and writes.
    copyChunk: (nodeId, slot, sources, chunkSize) =>
      copyThroughCaller(replicas, nodeId, slot, sources, chunkSize),
  };
  const replicas = options.wrap ? options.wrap(direct) : direct;
  const data = new ReplicatedDataPlane(
    control,
    new TwoPhaseCoordinator(control, replicas),
    replicas,
  );
  return {
    store,
    replicator,
    membership,
    placement,
    replicationFactor,
    control,
    stores,
    replicas,
    data,
    stop: () => replicator.stop(),
  };
}

/**
 * A repairer over `planes` for tests that call its passes themselves: no timer of its own
 * fires within a test, its copies are not paced, and no copy counts as lost for being away.
 */
export function memoryRepairer(planes: Awaited<ReturnType<typeof memoryPlanes>>): ChunkRepairer {
  return new ChunkRepairer({
    control: planes.control,
    membership: planes.membership,
    replicas: planes.replicas,
    placement: planes.placement,
    intervalMs: 3_600_000,
    lostAfterMs: 300_000,
    bytesPerSecond: 1024 * 1024 * 1024,
    draining: () => planes.control.drainingNodes(),
  });
}
