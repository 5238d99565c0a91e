/**
 * A walk over every chunk slot of the namespace, a page at a time: how repair and the scrub
 * visit every chunk without holding the namespace in memory.
 */
import type { ControlPlane } from "../control/control-plane.ts";
import { type ChunkSlot, isInlineSlot, type SlotCursor } from "../metadata/metadata-store.ts";

/** Slots read from the namespace per page of a walk. */
export const SLOTS_PER_PAGE = 500;

/**
 * Calls `visit` on every chunk slot in order, waiting for each before the next; inline slots
 * are passed over, since they have no copies (the metadata replicas hold them). Checks
 * `keepGoing` before every slot; resolves true when the walk reached the end, false when
 * `keepGoing` stopped it first.
 */
export async function forEachChunkSlot(
  control: ControlPlane,
  keepGoing: () => Promise<boolean>,
  visit: (inodeId: number, slot: ChunkSlot) => Promise<void>,
): Promise<boolean> {
  let cursor: SlotCursor | undefined;
  for (;;) {
    if (!(await keepGoing())) return false;
    const page = await control.scanChunkSlots(cursor, SLOTS_PER_PAGE);
    for (const { inodeId, slot } of page) {
      if (!(await keepGoing())) return false;
      if (!isInlineSlot(slot)) await visit(inodeId, slot);
    }
    const last = page.at(-1);
    if (!last || page.length < SLOTS_PER_PAGE) return true;
    cursor = { inodeId: last.inodeId, index: last.slot.index };
  }
}
