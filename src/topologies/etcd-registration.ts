/**
 * Etcd membership as the file topologies wire it: a node registers its id, roles, address and
 * free disk bytes, keeps the registration up, and reads its cluster's members from etcd. A
 * node that cannot reach etcd at start lets go of what it holds and does not start: it would
 * otherwise serve blind.
 */
import { EtcdMembership } from "../membership/etcd-membership.ts";
import type { Member, MemberSpec } from "../membership/membership.ts";
import type { Logger } from "../observability/logger.ts";
import type { DiskGuard } from "./disk-guard.ts";
import type { NodeOptions } from "./topology.ts";

export interface EtcdRegistrationOptions {
  /** The node's flags: where etcd is (`etcd`, required here). */
  readonly options: NodeOptions;
  /** This node as it registers. */
  readonly self: MemberSpec;
  /** Its data directory's guard: the free bytes it registers. */
  readonly disk: DiskGuard;
  /** Which registrations are this cluster's nodes (see `EtcdMembershipOptions.accept`). */
  readonly accept?: (member: Member) => boolean;
  readonly logger: Logger;
}

/** An etcd membership for this node, not started yet. Throws RangeError without `etcd`. */
export function etcdRegistration(o: EtcdRegistrationOptions): EtcdMembership {
  const location = o.options.etcd;
  if (!location) throw new RangeError("etcd membership needs --membership etcd://...");
  return new EtcdMembership({
    self: o.self,
    location,
    freeBytes: () => o.disk.space.status().freeBytes,
    accept: o.accept,
    onError: (error) => o.logger.debug({ err: error }, "etcd membership"),
  });
}

/**
 * Starts `membership` (registering `address`, when given, as the bound one); when etcd
 * cannot be reached, runs `release` and rethrows the EtcdUnreachableError.
 */
export async function startRegistration(
  membership: EtcdMembership,
  release: () => Promise<void>,
  address?: string,
): Promise<void> {
  try {
    await membership.start(address);
  } catch (error) {
    await release();
    throw error;
  }
}
