/**
 * The `TransactionCoordinator` seam: decides whether a chunk write commits or aborts.
 * Implementation: `two-phase`.
 */

import type { ReplicaAccess } from "../data/replica-access.ts";
import type { Inode } from "../metadata/metadata-store.ts";
import type { ControlPlane, WriteIntent } from "./control-plane.ts";

/** The outcome of one write attempt. `conflict`: another writer changed the slot first. */
export type WriteOutcome =
  | { readonly kind: "committed"; readonly inode: Inode }
  | { readonly kind: "conflict" };

export interface TransactionCoordinator {
  /**
   * Writes `data` (the whole new chunk) to the intent's targets, and commits it through the
   * control plane once `intent.writeQuorum` copies are durable. On too few copies it aborts:
   * the copies written are removed and it fails with EAGAIN (or the first replica's error when
   * every replica failed the same way). On a conflict it removes the copies and reports it;
   * the caller retries with a fresh intent. Nothing is half applied either way.
   */
  execute(intent: WriteIntent, data: Buffer, minFileSize: number): Promise<WriteOutcome>;
}

export type { ControlPlane, ReplicaAccess };
