/**
 * The names the cluster's reports use, in one place for the node that makes a report, the
 * SDK that checks it and the gateways that describe it (the MCP tools' schemas): a copy's
 * health in a placement, and the kinds of a node's recent events.
 */

/**
 * What a placement says of a copy: `unverified` unless asked to verify; then `good`,
 * `damaged` (fails its checksum), `missing` (its node has no such chunk) or `unreachable`.
 */
export const COPY_HEALTHS = ["unverified", "good", "damaged", "missing", "unreachable"] as const;
export type CopyHealth = (typeof COPY_HEALTHS)[number];

/** What a node's event concerns (NodeEvents). */
export const NODE_EVENT_KINDS = ["election", "repair", "scrub", "membership"] as const;
export type NodeEventKind = (typeof NODE_EVENT_KINDS)[number];

/** `name` as a copy health, or undefined when it is none (a newer node's). */
export function copyHealthOf(name: string): CopyHealth | undefined {
  return COPY_HEALTHS.find((known) => known === name);
}

/** `name` as an event kind, or undefined when it is none (a newer node's). */
export function nodeEventKindOf(name: string): NodeEventKind | undefined {
  return NODE_EVENT_KINDS.find((known) => known === name);
}
