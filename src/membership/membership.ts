/**
 * The `Membership` seam: which nodes exist, the roles each serves, their addresses, whether
 * they are live, and the free disk space each last reported (capacity, for placement).
 * Implementations: `static` (a fixed member list, the embedded default) and, later, `etcd`.
 */

/** One node of the cluster, as an address book knows it. */
export interface NodeInfo {
  /** Stable id, unique in the cluster (`n1`, `meta-2`, ...). */
  readonly id: string;
  /** Where its RPC server listens, `host:port`. */
  readonly address: string;
  /**
   * Where clients reach it, `host:port`, in a topology that serves them on a port of its own
   * (kv's plaintext protocol); undefined where clients use `address`.
   */
  readonly clientAddress?: string;
}

/**
 * What a node serves: `metadata` (a member of the metadata group: namespace and chunk map)
 * and `data` (a chunk store that placement may choose). A hyperconverged node has both.
 */
export type NodeRole = "metadata" | "data";

/** Every role, in a fixed order: what a node that serves everything has. */
export const ALL_ROLES: readonly NodeRole[] = ["metadata", "data"];

/** A node with the roles it serves: what a member list is made of. */
export interface MemberSpec extends NodeInfo {
  /** At least one role. */
  readonly roles: readonly NodeRole[];
}

/** A member as membership knows it now. */
export interface Member extends MemberSpec {
  /**
   * Bytes free on its data disk as it last reported them; undefined until it has (placement
   * then treats its capacity as unknown, not as zero).
   */
  readonly freeBytes: number | undefined;
}

export interface Membership {
  /** This node. */
  self(): NodeInfo;
  /** Every member, in id order; with `role`, only those that serve it. */
  members(role?: NodeRole): Member[];
  /**
   * Members believed live now, in id order; with `role`, only those that serve it. Always
   * includes this node when it serves `role` (or no role is asked for).
   */
  liveMembers(role?: NodeRole): Member[];
  /**
   * True while the view may be out of date because its source cannot be reached (etcd away):
   * the last view is kept, and no member is declared dead for it. Always false for a view
   * this node keeps itself.
   */
  isStale(): boolean;
  close(): Promise<void>;
}
