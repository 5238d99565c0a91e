/**
 * How a data plane reaches the chunk store of a node by id: the local store directly, other
 * nodes over the transport. The single topology has only the local store.
 */

import { crc32c } from "@node-rs/crc32";
import type { ChunkInfo, ChunkStore } from "../chunks/chunk-store.ts";
import { fsError } from "../common/errors.ts";
import type { ChunkSlot } from "../metadata/metadata-store.ts";

export interface ReplicaAccess {
  /** Writes a chunk on node `nodeId`; durable there when it resolves. */
  writeChunk(nodeId: string, chunkId: string, data: Uint8Array): Promise<ChunkInfo>;
  /** Reads a verified range of a chunk on node `nodeId` (see `ChunkStore.readChunk`). */
  readChunk(nodeId: string, chunkId: string, offset: number, length: number): Promise<Buffer>;
  /** Removes a chunk on node `nodeId`; a missing chunk is not an error. */
  deleteChunk(nodeId: string, chunkId: string): Promise<void>;
  /** Every chunk node `nodeId` holds (checksums not included: 0). */
  listChunks(nodeId: string): Promise<ChunkInfo[]>;
}

/** Access to this node's own store only; any other node is unreachable (EAGAIN). */
export function localReplicaAccess(selfId: string, store: ChunkStore): ReplicaAccess {
  const check = (nodeId: string, chunkId: string) => {
    if (nodeId !== selfId)
      throw fsError("EAGAIN", `chunk ${chunkId}`, `node ${nodeId} is not reachable from ${selfId}`);
  };
  return {
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
  };
}

/**
 * The whole chunk of `slot` from the first of `nodeIds` whose copy matches the slot's
 * checksum: the source for a repair. `chunkSize` bounds the read. Throws the last failure
 * (EIO when every copy was damaged) when none does.
 */
export async function readVerifiedChunk(
  replicas: ReplicaAccess,
  slot: ChunkSlot,
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
