/**
 * The `PlacementStrategy` seam: which data nodes hold the replicas of a new chunk.
 * Implementations: `sorted` (the first nodes in id order) and `rendezvous` (hashed, weighted
 * by free space).
 */
import type { Member } from "../membership/membership.ts";

export interface PlacementStrategy {
  /**
   * Picks up to `count` distinct nodes from `candidates` (live data nodes with room, each with
   * the free bytes it last reported) for chunk `chunkId`. Returns fewer when there are fewer
   * candidates; never a node not in `candidates`. Deterministic for one chunk id and one
   * candidate list.
   */
  place(chunkId: string, candidates: readonly Member[], count: number): Member[];
}
