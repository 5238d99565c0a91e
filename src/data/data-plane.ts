/**
 * The `DataPlane` seam: moving chunk bytes. Writes a byte range of one slot as a new chunk
 * version (merging with the old one), reads ranges with replica fail-over, and knows which
 * chunk writes are in flight so garbage collection leaves them alone.
 */

import type { ReadOptions } from "../control/control-plane.ts";
import type { Caller, ClientSession } from "../gen/sandstore/v1/metadata.ts";
import type { Inode } from "../metadata/metadata-store.ts";

/** Largest piece of data in one message, both ways: bounds memory per message. */
export const MAX_DATA_PIECE = 1024 * 1024;

export interface DataPlane {
  /**
   * Writes `data` at `offsetInSlot` of slot `slotIndex` of file `inodeId`: the slot gets a
   * new chunk holding the old bytes with this range replaced. Resolves with the inode after
   * the commit (durable on W replicas, metadata committed). Concurrent writers of one slot
   * serialize; each one's range lands whole. Fails with ENOENT when the file was removed,
   * EINVAL when the range leaves the slot, EAGAIN when too few replicas are live, EACCES when
   * `caller` (undefined: root) may not write the file. With a client session, a retried write
   * commits once.
   */
  writeRange(
    inodeId: number,
    slotIndex: number,
    offsetInSlot: number,
    data: Buffer,
    path: string,
    session?: ClientSession,
    caller?: Caller,
  ): Promise<Inode>;

  /**
   * Reads [offset, offset + length) of file `inodeId`, shortened at the end of the file, in
   * order, in pieces of at most MAX_DATA_PIECE bytes. Holes read as zeros. Fails with EIO
   * naming the chunk when no replica has a good copy, EACCES when `options.caller` may not
   * read the file.
   */
  readRange(
    inodeId: number,
    offset: number,
    length: number,
    path: string,
    options?: ReadOptions,
  ): AsyncIterable<Buffer>;

  /** True while a write of `chunkId` is between its prepare and its commit. */
  isWriteInFlight(chunkId: string): boolean;
}
