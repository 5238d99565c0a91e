/**
 * How a data plane reaches the chunk store of a node by id: the local store directly, other
 * nodes over the transport. The single topology has only the local store.
 */

import type { ChunkInfo, ChunkStore } from "../chunks/chunk-store.ts";
import { fsError } from "../common/errors.ts";

export interface ReplicaAccess {
  /** Writes a chunk on node `nodeId`; durable there when it resolves. */
  writeChunk(nodeId: string, chunkId: string, data: Uint8Array): Promise<ChunkInfo>;
  /** Reads a verified range of a chunk on node `nodeId` (see `ChunkStore.readChunk`). */
  readChunk(nodeId: string, chunkId: string, offset: number, length: number): Promise<Buffer>;
  /** Removes a chunk on node `nodeId`; a missing chunk is not an error. */
  deleteChunk(nodeId: string, chunkId: string): Promise<void>;
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
  };
}
