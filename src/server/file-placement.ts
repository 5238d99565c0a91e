/**
 * Where a file's chunks live (the file service's Placement call): a page of the file's chunk
 * slots, read behind the metadata's read barrier as the caller may read the file, each copy
 * with the node holding it, whether that node is live, and, when asked, whether the copy
 * itself checks out where it lies.
 */
import type { CopyHealth } from "../common/cluster-reports.ts";
import { fsError, SandstoreError } from "../common/errors.ts";
import type { ControlPlane } from "../control/control-plane.ts";
import type {
  CopyPlacement,
  PlacementResponse,
  SlotPlacement,
} from "../gen/sandstore/v1/file_service.ts";
import type { Caller, ChunkSlot } from "../gen/sandstore/v1/metadata.ts";
import { FileType } from "../gen/sandstore/v1/metadata.ts";

/** Slots a page answers at most, and by default. */
export const MAX_PLACEMENT_PAGE = 1024;
/**
 * Slots a verifying page answers at most, and by default: each copy is read whole (up to
 * R x 16 chunks of reads for one call), as a scrub would, but on the caller's clock.
 */
export const MAX_VERIFIED_PLACEMENT_PAGE = 16;

/** What a placement needs beside the metadata. */
export interface PlacementSources {
  readonly control: ControlPlane;
  /** A node's address; empty when this node does not know it. */
  readonly addressOf: (nodeId: string) => string;
  /** The ids of the members this node counts live. */
  readonly liveIds: () => ReadonlySet<string>;
  /**
   * Has node `nodeId` read its whole copy and check it against `checksum` (the scrub's
   * check); absent on a node that cannot reach the copies (ENOTSUP when asked to verify).
   */
  readonly verifyCopy?: (nodeId: string, chunkId: string, checksum: number) => Promise<number>;
}

/** What a verification found, from its error: the store's own answer, or no answer at all. */
function healthOf(error: unknown): CopyHealth {
  // An error without a path came from the transport, not from the node's store.
  if (error instanceof SandstoreError && error.path !== "") {
    if (error.code === "ENOENT") return "missing";
    if (error.code === "EIO") return "damaged";
  }
  return "unreachable";
}

async function copiesOf(
  slot: ChunkSlot,
  sources: PlacementSources,
  live: ReadonlySet<string>,
  verify: boolean,
): Promise<CopyPlacement[]> {
  const verifyCopy = sources.verifyCopy;
  return Promise.all(
    slot.replicas.map(async (nodeId) => {
      let health: CopyHealth = "unverified";
      if (verify && verifyCopy)
        health = await verifyCopy(nodeId, slot.chunkId, slot.checksum).then(() => "good", healthOf);
      return { nodeId, address: sources.addressOf(nodeId), live: live.has(nodeId), health };
    }),
  );
}

/**
 * Up to `limit` slots (0: the page's most) of the file at `path` from slot `fromSlot`, as
 * `caller` may read them: EACCES otherwise, EISDIR for a directory, EINVAL for a limit over
 * the page's most, ENOTSUP for `verify` where copies cannot be reached.
 */
export async function filePlacement(
  sources: PlacementSources,
  path: string,
  caller: Caller | undefined,
  page: { fromSlot: number; limit: number; verify: boolean },
): Promise<PlacementResponse> {
  const most = page.verify ? MAX_VERIFIED_PLACEMENT_PAGE : MAX_PLACEMENT_PAGE;
  if (!Number.isSafeInteger(page.fromSlot) || page.fromSlot < 0)
    throw fsError("EINVAL", path, `bad first slot ${page.fromSlot}`);
  if (!Number.isInteger(page.limit) || page.limit < 0 || page.limit > most)
    throw fsError("EINVAL", path, `a placement page is 1 to ${most} slots, not ${page.limit}`);
  if (page.verify && !sources.verifyCopy)
    throw fsError("ENOTSUP", path, "this node cannot reach the copies to verify them");
  const limit = page.limit === 0 ? most : page.limit;
  const control = sources.control;
  const inode = await control.stat(path, { caller });
  if (inode.type === FileType.FILE_TYPE_DIRECTORY)
    throw fsError("EISDIR", path, "a directory has no chunks");
  const { chunkSize, replicationFactor } = await control.settings();
  const offset = page.fromSlot * chunkSize;
  if (offset >= inode.size) return { size: inode.size, chunkSize, slots: [], replicationFactor };
  const length = Math.min(limit * chunkSize, inode.size - offset);
  const plan = await control.resolveRead(inode.id, offset, length, path, { caller });
  const live = sources.liveIds();
  const slots: SlotPlacement[] = [];
  for (const slot of plan.slots)
    slots.push({
      index: slot.index,
      offset: slot.index * chunkSize,
      length: slot.length,
      chunkId: slot.chunkId,
      inline: slot.inlineData !== undefined,
      copies: slot.inlineData === undefined ? await copiesOf(slot, sources, live, page.verify) : [],
    });
  const next = page.fromSlot + limit;
  return {
    size: plan.inode.size,
    chunkSize,
    slots,
    replicationFactor,
    ...(next * chunkSize < plan.inode.size && { nextSlot: next }),
  };
}
