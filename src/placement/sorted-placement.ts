/**
 * The `sorted` PlacementStrategy, as the original Sandstore placed chunks: the first nodes in
 * id order. Unlike the original it is only ever given live nodes.
 */
import type { Member } from "../membership/membership.ts";
import type { PlacementStrategy } from "./placement-strategy.ts";

export class SortedPlacement implements PlacementStrategy {
  place(_chunkId: string, candidates: readonly Member[], count: number): Member[] {
    return [...candidates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, count);
  }
}
