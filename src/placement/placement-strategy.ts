/**
 * The `PlacementStrategy` seam: which nodes hold the replicas of a new chunk.
 * Implementations: `sorted` and, later, `rendezvous` and `least-used`.
 */
import type { NodeInfo } from "../membership/membership.ts";

export interface PlacementStrategy {
  /**
   * Picks up to `count` distinct nodes from `candidates` (live nodes only) for chunk `chunkId`.
   * Returns fewer when there are fewer candidates; never a node not in `candidates`.
   */
  place(chunkId: string, candidates: readonly NodeInfo[], count: number): NodeInfo[];
}
