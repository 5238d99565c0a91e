/**
 * The `rendezvous` PlacementStrategy (weighted highest random weight): each node gets a score
 * from a hash of the chunk id and the node id, scaled by its free space, and the highest
 * scores win. Chunks spread in proportion to free space, so an emptier (or a new) node takes
 * more of the new chunks; when a node joins or leaves only the chunks that scored it highest
 * move. While any candidate's free space is unknown every node weighs the same.
 */
import { crc32c } from "@node-rs/crc32";
import type { Member } from "../membership/membership.ts";
import type { PlacementStrategy } from "./placement-strategy.ts";

/** A hash of both ids, mapped into (0, 1): the node's draw for this chunk. */
function draw(chunkId: string, nodeId: string): number {
  // Two CRC32C rounds over both ids: cheap, and spread well enough for placement.
  const first = crc32c(Buffer.from(`${chunkId}/${nodeId}`));
  return (crc32c(Buffer.from(nodeId), first) + 0.5) / 2 ** 32;
}

export class RendezvousPlacement implements PlacementStrategy {
  place(chunkId: string, candidates: readonly Member[], count: number): Member[] {
    const weighted = candidates.every((node) => node.freeBytes !== undefined);
    return [...candidates]
      .map((node) => {
        // Weighted rendezvous: -w / ln(u) picks a node with probability w / Σw.
        const weight = weighted ? Math.max(1, node.freeBytes ?? 1) : 1;
        return { node, score: -weight / Math.log(draw(chunkId, node.id)) };
      })
      .sort((a, b) => b.score - a.score || (a.node.id < b.node.id ? -1 : 1))
      .slice(0, count)
      .map(({ node }) => node);
  }
}
