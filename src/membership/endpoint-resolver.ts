/**
 * The `EndpointResolver` seam: turns a node id into an address a client or peer can reach.
 */
import type { Membership } from "./membership.ts";

export interface EndpointResolver {
  /** The address of node `id`, or undefined when no such node is known. */
  addressOf(id: string): string | undefined;
}

/** Resolves ids through a `Membership`'s current member list. */
export function resolverFromMembership(membership: Membership): EndpointResolver {
  return {
    addressOf: (id) => membership.members().find((node) => node.id === id)?.address,
  };
}
