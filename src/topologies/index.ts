/**
 * The topologies a node can run, by name. Adding a topology is one wiring file and one line
 * here.
 */
import { startHyperconvergedNode } from "./hyperconverged.ts";
import { startSingleNode } from "./single.ts";
import type { NodeOptions, RunningNode } from "./topology.ts";

export type { NodeOptions, RunningNode };

export const TOPOLOGIES: Record<string, (options: NodeOptions) => Promise<RunningNode>> = {
  single: startSingleNode,
  hyperconverged: startHyperconvergedNode,
};

/** Names a user may pass that are planned but not wired yet, with where they are tracked. */
export const PLANNED_TOPOLOGIES: Record<string, string> = {
  disaggregated: "the disaggregated topology",
  kv: "the key-value topology: use `sandstore kv` (issue 5)",
};
