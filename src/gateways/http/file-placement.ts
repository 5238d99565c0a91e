/**
 * Where a file's chunks live, for `/api/v1/placement/...` and the dashboard's file browser:
 * the file's chunk slots, read behind the metadata's read barrier, with each copy's node.
 */
import { fsError } from "../../common/errors.ts";
import type { ControlPlane } from "../../control/control-plane.ts";
import type { Caller } from "../../gen/sandstore/v1/metadata.ts";
import { FileType } from "../../gen/sandstore/v1/metadata.ts";
import type { FilePlacement } from "./http-gateway.ts";

/**
 * Up to `limit` slots of the file at `path` from slot `fromSlot`, as `caller` may read them
 * (EACCES otherwise; EISDIR for a directory). `addressOf` names a node's address, empty when
 * this node does not know it.
 */
export async function filePlacement(
  control: ControlPlane,
  addressOf: (nodeId: string) => string,
  path: string,
  caller: Caller | undefined,
  fromSlot: number,
  limit: number,
): Promise<FilePlacement> {
  const inode = await control.stat(path, { caller });
  if (inode.type === FileType.FILE_TYPE_DIRECTORY)
    throw fsError("EISDIR", path, "a directory has no chunks");
  const { chunkSize } = await control.settings();
  const offset = fromSlot * chunkSize;
  if (offset >= inode.size) return { size: inode.size, chunkSize, slots: [] };
  const length = Math.min(limit * chunkSize, inode.size - offset);
  const plan = await control.resolveRead(inode.id, offset, length, path, { caller });
  const slots = plan.slots.map((slot) => ({
    index: slot.index,
    offset: slot.index * chunkSize,
    length: slot.length,
    chunkId: slot.chunkId,
    inline: slot.inlineData !== undefined,
    replicas: slot.replicas.map((id) => ({ id, address: addressOf(id) })),
  }));
  const next = fromSlot + limit;
  return {
    size: plan.inode.size,
    chunkSize,
    slots,
    ...(next * chunkSize < plan.inode.size && { nextSlot: next }),
  };
}
