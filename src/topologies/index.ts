/**
 * The topologies a node can run, by name, each with its descriptor. Adding a topology is one
 * wiring file and one entry here.
 */
import { ALL_ROLES } from "../membership/membership.ts";
import { startHyperconvergedNode } from "./hyperconverged.ts";
import { startSingleNode } from "./single.ts";
import type { NodeOptions, RunningNode, TopologyDescriptor } from "./topology.ts";

export type { NodeOptions, RunningNode, TopologyDescriptor };

export const TOPOLOGIES: Record<string, TopologyDescriptor> = {
  single: {
    summary: "one process: the namespace and every chunk, one copy",
    roles: ALL_ROLES,
    members: "one",
    defaultNodes: 1,
    replicationSettable: false,
    start: startSingleNode,
  },
  hyperconverged: {
    summary: "every node runs both roles; the metadata is one Raft group of all nodes",
    roles: ALL_ROLES,
    members: "group",
    defaultNodes: 3,
    replicationSettable: true,
    start: startHyperconvergedNode,
  },
};

/** Names a user may pass that are planned but not wired yet, with where they are tracked. */
export const PLANNED_TOPOLOGIES: Record<string, string> = {
  disaggregated: "the disaggregated topology, issue 15",
  kv: "the key-value topology: use `sandstore kv` (issue 5)",
};
