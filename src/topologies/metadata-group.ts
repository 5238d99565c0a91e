/**
 * The metadata group's wiring, shared by the replicated file topologies: the metadata store
 * under `<data-dir>/metadata`, checked against the node's settings flags, and a Raft node per
 * member over gRPC, its log and snapshots under `<data-dir>/raft`, applying to that store.
 */
import { join } from "node:path";
import { checkDecidedSettings } from "../control/cluster-bootstrap.ts";
import type { NodeInfo } from "../membership/membership.ts";
import type { RequestedSettings } from "../metadata/cluster-settings.ts";
import { LmdbMetadataStore } from "../metadata/lmdb-metadata-store.ts";
import type { Logger } from "../observability/logger.ts";
import type { RaftObserver } from "../raft/node.ts";
import { DiskStorage } from "../raft/storage/disk-storage.ts";
import { RaftReplicator } from "../replication/raft-replicator.ts";
import type { FaultLayer } from "../transport/fault-file.ts";
import { GrpcRaftTransport } from "../transport/grpc-raft-transport.ts";
import type { PeerAuth } from "../transport/peer-auth.ts";
import type { ServiceTraffic } from "../transport/transport.ts";
import type { NodeOptions } from "./topology.ts";

/**
 * Opens this member's metadata store and checks the settings its flags ask for against the
 * ones the cluster decided (see `checkDecidedSettings`). On a conflict the store is closed
 * cleanly (still trusted at the next start, with the right flags), `release` undoes what the
 * caller set up before, and the conflict is thrown.
 */
export async function openGroupStore(
  options: NodeOptions,
  logger: Logger,
  release: () => Promise<void>,
): Promise<{ store: LmdbMetadataStore; requested: RequestedSettings }> {
  // The store need not sync each commit: Raft's log and snapshot files are the durable
  // record, and a store discarded after a crash is rebuilt from them at start.
  const store = new LmdbMetadataStore({
    path: join(options.dataDir, "metadata"),
    durability: "clean-close",
  });
  if (store.discardedAfterCrash)
    logger.info("metadata store not closed cleanly: rebuilding it from the Raft snapshot and log");
  const requested = {
    chunkSize: options.chunkSize,
    replicationFactor: options.replicationFactor,
    writeQuorum: options.writeQuorum,
  };
  try {
    checkDecidedSettings(store.settings(), requested);
  } catch (error) {
    await store.close();
    await release();
    throw error;
  }
  return { store, requested };
}

export interface MetadataRaftOptions {
  /** This node, one of `group`. */
  readonly id: string;
  /** The metadata group as `--peers` gives it: its voters at first start, unless joining. */
  readonly group: readonly NodeInfo[];
  /**
   * Where a member not in `group` listens (one added later, with its address recorded in the
   * metadata or registered in membership); undefined while unknown.
   */
  readonly addressOf?: (id: string) => string | undefined;
  readonly store: LmdbMetadataStore;
  /** The node's flags: listen address, data directory, tick, snapshot interval. */
  readonly options: NodeOptions;
  readonly auth: PeerAuth;
  /** The fault layer of tests and chaos runs, which cuts Raft traffic too. */
  readonly faults: FaultLayer | undefined;
  readonly logger: Logger;
  /** Told of the node's fsyncs, snapshots, leader changes and proposals (metrics). */
  readonly observer?: RaftObserver;
  /** Counts the bytes the Raft transport's own server moves (metrics). */
  readonly traffic?: ServiceTraffic;
}

/** The replicator and the transport it speaks through; register the transport on the server. */
export function metadataRaft(o: MetadataRaftOptions): {
  replicator: RaftReplicator;
  raftTransport: GrpcRaftTransport;
} {
  const addresses = new Map(o.group.map((node) => [node.id, node.address]));
  const addressOf = (id: string) =>
    addresses.get(id) ?? o.store.memberAddress(id) ?? o.addressOf?.(id);
  // The node subscribes to its transport when it starts (`RaftTransport.receive`).
  const raftTransport = new GrpcRaftTransport({
    selfId: o.id,
    listen: o.options.listen,
    addressOf,
    auth: o.auth,
    faults: o.faults,
    traffic: o.traffic,
  });
  const replicator = new RaftReplicator({
    id: o.id,
    store: o.store,
    tempDir: o.options.dataDir,
    storage: new DiskStorage({
      dir: join(o.options.dataDir, "raft"),
      // A joining node starts with the group it joins as the configuration, itself outside
      // it: it never campaigns, and waits for the leader to add it (`sandstore member add`).
      initialConf: {
        voters: o.group.map((n) => n.id).filter((id) => !(o.options.join && id === o.id)),
        learners: [],
      },
    }),
    transport: raftTransport,
    addresses: (nodeId) => addressOf(nodeId) ?? "",
    tickMs: o.options.tickMs ?? 50,
    snapshotEntries: o.options.snapshotEntries ?? 10_000,
    onTornTail: (file, bytes) =>
      o.logger.warn({ file, bytes }, "cut a damaged tail from the Raft log"),
    observer: o.observer,
  });
  return { replicator, raftTransport };
}
