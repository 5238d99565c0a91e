/**
 * What every wiring file takes and returns, so that `sandstore node` and tests can start any
 * topology the same way.
 */
import type { EtcdLocation } from "../membership/etcd-membership.ts";
import type { NodeInfo, NodeRole } from "../membership/membership.ts";
import type { Logger } from "../observability/logger.ts";
import type { AuthMode } from "../server/client-authenticator.ts";

export interface NodeOptions {
  /** This node's id. */
  readonly id: string;
  /** `host:port` for the RPC server; port 0 picks one. */
  readonly listen: string;
  /**
   * `host:port` for the HTTP port (`--http`: metrics, health, the REST API); port 0 picks
   * one. No HTTP port without it.
   */
  readonly http?: string;
  /** Everything the node keeps lives under here; created when missing. */
  readonly dataDir: string;
  /**
   * Chunk size in bytes for a new cluster (default 8 MiB). The cluster's metadata log decides
   * it at bootstrap; a node given another value than the decided one refuses to run.
   */
  readonly chunkSize?: number;
  /** Time between garbage collection passes, ms. Default 60,000. */
  readonly gcIntervalMs?: number;
  /** Age below which an unreferenced chunk is kept, ms. Default 600,000. */
  readonly gcGraceMs?: number;
  readonly logger: Logger;
  /** Every member of a replicated topology, this node included (`id=host:port`). */
  readonly peers?: readonly NodeInfo[];
  /** Secret shared by the cluster's nodes for their internal services. */
  readonly clusterToken?: string;
  /**
   * A TLS directory (`ca.crt`, `node.crt` naming this node, `node.key`): every port speaks
   * TLS and peers prove who they are by certificate instead of the token.
   */
  readonly tlsDir?: string;
  /**
   * Whether clients must prove who they are: `off` (the default) makes every client root;
   * `required` refuses a call without a user's valid access key and secret (EACCES).
   */
  readonly auth?: AuthMode;
  /**
   * Bytes of disk held back in `<data-dir>/reserve`, released when the disk is nearly full so
   * the node can start and apply deletes. Default 64 MiB; 0 keeps none.
   */
  readonly diskReserveBytes?: number;
  /**
   * Copies of each chunk (R) for a new cluster; default 3, and fewer while fewer nodes are
   * live. Decided at bootstrap like the chunk size.
   */
  readonly replicationFactor?: number;
  /**
   * Durable copies before a write commits (W), 1..R, for a new cluster; default a majority
   * of R. Decided at bootstrap like the chunk size.
   */
  readonly writeQuorum?: number;
  /** Snapshot the metadata after this many entries. Default 10,000. */
  readonly snapshotEntries?: number;
  /** Milliseconds per Raft tick. Default 50. */
  readonly tickMs?: number;
  /** Time between repair passes on the leader, ms. Default 10,000. */
  readonly repairIntervalMs?: number;
  /** How long a replica's node may be unreachable before its copies are replaced, ms. Default 300,000. */
  readonly repairLostAfterMs?: number;
  /** Bytes per second repair may copy. Default 64 MiB. */
  readonly repairBytesPerSecond?: number;
  /** Time from the end of one scrub pass (every copy verified) to the next, ms. Default a day. */
  readonly scrubIntervalMs?: number;
  /** Bytes of copies per second the scrub may read, across the cluster. Default 16 MiB. */
  readonly scrubBytesPerSecond?: number;
  /** A fault file (`{ "drop": [peer ids] }`) cutting Raft traffic to and from peers; for tests. */
  readonly faultFile?: string;
  /** How chunk replicas are placed: `sorted` (the default, as the original did) or `rendezvous`. */
  readonly placement?: "sorted" | "rendezvous";
  /**
   * What this node serves, in a topology whose nodes differ (`TopologyDescriptor.roles` says
   * which are allowed). Default: every role the topology's nodes may have.
   */
  readonly roles?: readonly NodeRole[];
  /**
   * The metadata servers a node without the metadata role reports to and asks, `host:port`
   * (`--metadata`). At least one for such a node.
   */
  readonly metadataServers?: readonly string[];
  /** How long a chunk capability works, ms. Default 120,000; below the GC grace period. */
  readonly capabilityLifetimeMs?: number;
  /** Time between a data server's reports to the metadata servers, ms. Default 1,000. */
  readonly reportIntervalMs?: number;
  /**
   * Time between a data server's chunk inventories (block reports) to the metadata servers,
   * ms. Default 10,000. A metadata server reads an inventory up to three of its own intervals
   * old, and asks a data server with none that fresh for its listing.
   */
  readonly inventoryIntervalMs?: number;
  /**
   * `host:port` for a topology that serves clients on a port of its own protocol
   * (`TopologyDescriptor.clientPort`: kv's plaintext port); required there, refused elsewhere.
   */
  readonly clientListen?: string;
  /** A rule to break on purpose, to show the chaos checks catch it; for the chaos tests only. */
  readonly brokenRule?: BrokenRule;
  /**
   * Membership on etcd (`--membership etcd://...`) instead of the static one, where the
   * topology takes it (`TopologyDescriptor.memberships`).
   */
  readonly etcd?: EtcdLocation;
  /**
   * Joins a running metadata group instead of forming one (`--join`): the node starts outside
   * the configuration `peers` gives, and takes part once `sandstore member add` adds it.
   * Only at its first start: later starts read the configuration from its Raft log.
   */
  readonly join?: boolean;
}

/**
 * A rule of correctness a node breaks on purpose, so a chaos test can show that its checks
 * catch the break (docs/testing.md): `reads-without-readindex` answers key-value reads from
 * local state with no read barrier.
 */
export type BrokenRule = "reads-without-readindex";

/** Every `BrokenRule`, for validating a flag. */
export const BROKEN_RULES: readonly BrokenRule[] = ["reads-without-readindex"];

/** A started node. */
export interface RunningNode {
  readonly id: string;
  /** Where its RPC server listens, with the real port. */
  readonly address: string;
  /** Where clients reach it when that is another port (`NodeOptions.clientListen`), real port. */
  readonly clientAddress?: string;
  /** Where its HTTP port listens (`NodeOptions.http`), with the real port; absent without one. */
  readonly httpAddress?: string;
  /**
   * Resolves when the node cannot go on and must be stopped (its flags disagree with the
   * cluster's decided settings); never rejects, and stays pending while the node is healthy.
   */
  readonly failed: Promise<Error>;
  /** Stops serving, finishes what is in flight, closes every file. */
  stop(): Promise<void>;
}

/**
 * What a topology is, for everything that starts one (`sandstore node`, `sandstore up`, the
 * test and chaos harnesses): so that none of them branches on a topology's name.
 */
export interface TopologyDescriptor {
  /** One line: what runs where. */
  readonly summary: string;
  /**
   * The roles a node of it may serve. With more than one, `--roles` picks a node's (default
   * all of them); a topology whose nodes serve every role takes no `--roles`.
   */
  readonly roles: readonly NodeRole[];
  /** Whether each node chooses its roles (`--roles`), as the disaggregated topology's do. */
  readonly rolesPerNode: boolean;
  /** `one`: a cluster is one node, with no peers; `group`: the members named by `--peers`. */
  readonly members: "one" | "group";
  /** Nodes `sandstore up` starts when `--nodes` is not given. */
  readonly defaultNodes: number;
  /** Whether R and W may be chosen; a topology that keeps one copy refuses them. */
  readonly replicationSettable: boolean;
  /**
   * What clients get: `files`, the file API (and chunks, so the file store's flags apply) on
   * the node's one port; `keys`, key-value commands in TitanStore's plaintext protocol on a
   * client port of its own (`--client-listen`), the node's port being for its peers only.
   */
  readonly serves: "files" | "keys";
  /** The memberships its nodes may use (`--membership`): `static` always, `etcd` where built. */
  readonly memberships: readonly ("static" | "etcd")[];
  /** Starts one node of it. */
  readonly start: (options: NodeOptions) => Promise<RunningNode>;
}
