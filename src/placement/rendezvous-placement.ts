/**
 * The `rendezvous` PlacementStrategy (highest random weight): each node gets a score from a
 * hash of the chunk id and the node id, and the highest scores win. Chunks spread evenly, and
 * when a node joins or leaves only the chunks that scored it highest move.
 */
import { crc32c } from "@node-rs/crc32";
import type { NodeInfo } from "../membership/membership.ts";
import type { PlacementStrategy } from "./placement-strategy.ts";

function score(chunkId: string, nodeId: string): number {
  // Two CRC32C rounds over both ids: cheap, and spread well enough for placement.
  const first = crc32c(Buffer.from(`${chunkId}/${nodeId}`));
  return crc32c(Buffer.from(nodeId), first);
}

export class RendezvousPlacement implements PlacementStrategy {
  place(chunkId: string, candidates: readonly NodeInfo[], count: number): NodeInfo[] {
    return [...candidates]
      .map((node) => ({ node, weight: score(chunkId, node.id) }))
      .sort((a, b) => b.weight - a.weight || (a.node.id < b.node.id ? -1 : 1))
      .slice(0, count)
      .map(({ node }) => node);
  }
}
