/**
 * How a data plane reaches the chunk store of a node by id: the local store directly, other
 * nodes over the transport. The single topology has only the local store.
 */

import { crc32c } from "@node-rs/crc32";
import type { ChunkInfo, ChunkStore } from "../chunks/chunk-store.ts";
import { fsError } from "../common/errors.ts";
import type { ChunkSlot } from "../metadata/metadata-store.ts";

export interface ReplicaAccess {
  /**
   * The node whose store this access reaches without the network, if any: the nearest
   * replica, which reads try first.
   */
  readonly localNodeId?: string;
  /**
   * Writes a chunk on node `nodeId`; durable there when it resolves. With `connectWaitMs`,
   * waits up to that long for a connection to the node when there is none (by default a node
   * not connected fails at once, EAGAIN).
   */
  writeChunk(
    nodeId: string,
    chunkId: string,
    data: Uint8Array,
    connectWaitMs?: number,
  ): Promise<ChunkInfo>;
  /** Reads a verified range of a chunk on node `nodeId` (see `ChunkStore.readChunk`). */
  readChunk(nodeId: string, chunkId: string, offset: number, length: number): Promise<Buffer>;
  /** Removes a chunk on node `nodeId`; a missing chunk is not an error. */
  deleteChunk(nodeId: string, chunkId: string): Promise<void>;
  /** Every chunk node `nodeId` holds (checksums not included: 0). */
  listChunks(nodeId: string): Promise<ChunkInfo[]>;
  /**
   * Has node `nodeId` read its whole copy of a chunk where it lies and check it against
   * `checksum` (see `verifyStoredCopy`); resolves to the copy's size in bytes.
   */
  verifyChunk(nodeId: string, chunkId: string, checksum: number): Promise<number>;
  /**
   * Makes node `nodeId`'s copy of the chunk `slot` names (replacing any copy it holds) from
   * the first of `sources` that has a good one, checked against the slot's checksum (repair).
   * Where it can, node `nodeId` reads the source itself, so the bytes do not pass through the
   * caller. `chunkSize` (bytes, the cluster's) bounds the read: a chunk may be longer than the
   * slot's length, which truncate shortens. Fails as the last source failed (EIO when every
   * copy is damaged).
   */
  copyChunk(
    nodeId: string,
    slot: ChunkSlot,
    sources: readonly string[],
    chunkSize: number,
  ): Promise<void>;
}

/** Bytes read per step of a verification: bounds the memory one scrub read holds. */
const VERIFY_PIECE = 1024 * 1024;

/**
 * Reads the whole copy of `chunkId` in `store` and checks it against `checksum`, the CRC32C of
 * the whole chunk that its slot records; resolves to its size. Fails EIO naming the chunk when
 * the copy is damaged (a block fails the store's own checksums, or the whole differs from
 * `checksum`), ENOENT when it is missing.
 */
export async function verifyStoredCopy(
  store: ChunkStore,
  chunkId: string,
  checksum: number,
): Promise<number> {
  let crc = 0;
  let size = 0;
  for (;;) {
    const piece = await store.readChunk(chunkId, size, VERIFY_PIECE);
    if (piece.length === 0) break;
    crc = crc32c(piece, crc);
    size += piece.length;
    if (piece.length < VERIFY_PIECE) break;
  }
  if (crc !== checksum)
    throw fsError("EIO", `chunk ${chunkId}`, "the copy differs from the checksum metadata holds");
  return size;
}

/** Access to this node's own store only; any other node is unreachable (EAGAIN). */
export function localReplicaAccess(selfId: string, store: ChunkStore): ReplicaAccess {
  const check = (nodeId: string, chunkId: string) => {
    if (nodeId !== selfId)
      throw fsError("EAGAIN", `chunk ${chunkId}`, `node ${nodeId} is not reachable from ${selfId}`);
  };
  const access: ReplicaAccess = {
    localNodeId: selfId,
    async writeChunk(nodeId, chunkId, data) {
      check(nodeId, chunkId);
      return store.writeChunk(chunkId, data);
    },
    async readChunk(nodeId, chunkId, offset, length) {
      check(nodeId, chunkId);
      return store.readChunk(chunkId, offset, length);
    },
    async deleteChunk(nodeId, chunkId) {
      check(nodeId, chunkId);
      await store.deleteChunk(chunkId);
    },
    async listChunks(nodeId) {
      check(nodeId, "listing");
      return store.listChunks();
    },
    async verifyChunk(nodeId, chunkId, checksum) {
      check(nodeId, chunkId);
      return verifyStoredCopy(store, chunkId, checksum);
    },
    copyChunk: (nodeId, slot, sources, chunkSize) =>
      copyThroughCaller(access, nodeId, slot, sources, chunkSize),
  };
  return access;
}

/**
 * The whole chunk of `slot` from the first of `nodeIds` whose copy matches the slot's
 * checksum: the source for a repair. `chunkSize` bounds the read. Throws the last failure
 * (EIO when every copy was damaged) when none does.
 */
export async function readVerifiedChunk(
  replicas: ReplicaAccess,
  slot: Pick<ChunkSlot, "chunkId" | "checksum">,
  nodeIds: readonly string[],
  chunkSize: number,
): Promise<Buffer> {
  let lastError: unknown = fsError("EIO", `chunk ${slot.chunkId}`, "no replica to read from");
  for (const nodeId of nodeIds) {
    try {
      const bytes = await replicas.readChunk(nodeId, slot.chunkId, 0, chunkSize);
      if (crc32c(bytes) === slot.checksum) return bytes;
      lastError = fsError("EIO", `chunk ${slot.chunkId}`, `copy on ${nodeId} fails its checksum`);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/**
 * `ReplicaAccess.copyChunk` for an access that cannot have the target read the source itself:
 * the caller reads a verified copy from `sources` and writes it to `nodeId`.
 */
export async function copyThroughCaller(
  replicas: ReplicaAccess,
  nodeId: string,
  slot: ChunkSlot,
  sources: readonly string[],
  chunkSize: number,
): Promise<void> {
  const bytes = await readVerifiedChunk(replicas, slot, sources, chunkSize);
  await rewriteCopy(replicas, nodeId, slot.chunkId, bytes);
}

/** Replaces the copy of a chunk on `nodeId` with `bytes` (a damaged copy refuses a write). */
export async function rewriteCopy(
  replicas: ReplicaAccess,
  nodeId: string,
  chunkId: string,
  bytes: Uint8Array,
): Promise<void> {
  await replicas.deleteChunk(nodeId, chunkId);
  await replicas.writeChunk(nodeId, chunkId, bytes);
}
