/**
 * The `Membership` seam: which nodes exist, their addresses and whether they are live.
 * Implementations: `static` (a fixed peer list, the embedded default) and, later, `etcd`.
 */

/** One node of the cluster. */
export interface NodeInfo {
  /** Stable id, unique in the cluster (`n1`, `meta-2`, ...). */
  readonly id: string;
  /** Where its RPC server listens, `host:port`. */
  readonly address: string;
}

export interface Membership {
  /** This node. */
  self(): NodeInfo;
  /** Every member, in id order. */
  members(): NodeInfo[];
  /** Members believed live now, in id order; always includes this node. */
  liveMembers(): NodeInfo[];
  close(): Promise<void>;
}
