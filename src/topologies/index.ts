/**
 * The topologies a node can run, by name, each with its descriptor. Adding a topology is one
 * wiring file and one entry here.
 */
import { ALL_ROLES } from "../membership/membership.ts";
import { startDisaggregatedNode } from "./disaggregated.ts";
import { startHyperconvergedNode } from "./hyperconverged.ts";
import { startSingleNode } from "./single.ts";
import type { NodeOptions, RunningNode, TopologyDescriptor } from "./topology.ts";

export type { NodeOptions, RunningNode, TopologyDescriptor };

export const TOPOLOGIES: Record<string, TopologyDescriptor> = {
  single: {
    summary: "one process: the namespace and every chunk, one copy",
    roles: ALL_ROLES,
    rolesPerNode: false,
    members: "one",
    defaultNodes: 1,
    replicationSettable: false,
    start: startSingleNode,
  },
  hyperconverged: {
    summary: "every node runs both roles; the metadata is one Raft group of all nodes",
    roles: ALL_ROLES,
    rolesPerNode: false,
    members: "group",
    defaultNodes: 3,
    replicationSettable: true,
    start: startHyperconvergedNode,
  },
  disaggregated: {
    summary:
      "metadata servers (one Raft group, no chunks) and data servers (chunks); clients move bytes to the data servers",
    roles: ALL_ROLES,
    rolesPerNode: true,
    members: "group",
    defaultNodes: 3,
    replicationSettable: true,
    start: startDisaggregatedNode,
  },
};

/** Names a user may pass that are planned but not wired yet, with where they are tracked. */
export const PLANNED_TOPOLOGIES: Record<string, string> = {
  kv: "the key-value topology: use `sandstore kv` (issue 5)",
};
