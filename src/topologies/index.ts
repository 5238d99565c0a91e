/**
 * The topologies a node can run, by name, each with its descriptor. Adding a topology is one
 * wiring file and one entry here.
 */
import { ALL_ROLES } from "../membership/membership.ts";
import type { TopologyDescriptor } from "./topology.ts";

export type { BrokenRule, NodeOptions, RunningNode, TopologyDescriptor } from "./topology.ts";
export { BROKEN_RULES } from "./topology.ts";

// Each wiring file is loaded when a node of its topology starts, not when this table is read:
// every CLI command reads the table, and a client command (`put`, `ls`) should not pay for
// loading servers (Fastify, prom-client, the stores) it never runs.
export const TOPOLOGIES: Record<string, TopologyDescriptor> = {
  single: {
    summary: "one process: the namespace and every chunk, one copy",
    roles: ALL_ROLES,
    rolesPerNode: false,
    members: "one",
    defaultNodes: 1,
    replicationSettable: false,
    serves: "files",
    memberships: ["static"],
    start: async (options) => (await import("./single.ts")).startSingleNode(options),
  },
  hyperconverged: {
    summary: "every node runs both roles; the metadata is one Raft group of all nodes",
    roles: ALL_ROLES,
    rolesPerNode: false,
    members: "group",
    defaultNodes: 3,
    replicationSettable: true,
    serves: "files",
    memberships: ["static", "etcd"],
    start: async (options) =>
      (await import("./hyperconverged.ts")).startHyperconvergedNode(options),
  },
  disaggregated: {
    summary:
      "metadata servers (one Raft group, no chunks) and data servers (chunks); clients move bytes to the data servers",
    roles: ALL_ROLES,
    rolesPerNode: true,
    members: "group",
    defaultNodes: 3,
    replicationSettable: true,
    serves: "files",
    memberships: ["static", "etcd"],
    start: async (options) => (await import("./disaggregated.ts")).startDisaggregatedNode(options),
  },
  kv: {
    summary:
      "every node is a member of one Raft group with a key-value state machine; clients speak TitanStore's plaintext protocol",
    roles: [],
    rolesPerNode: false,
    members: "group",
    defaultNodes: 3,
    replicationSettable: false,
    serves: "keys",
    memberships: ["static"],
    start: async (options) => (await import("./kv.ts")).startKvTopologyNode(options),
  },
};
