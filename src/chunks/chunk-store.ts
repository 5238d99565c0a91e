/**
 * The `ChunkStore` seam: chunk bytes on one node, immutable once written, with checksums
 * verified on every read. Implementations: `disk` and `memory`.
 *
 * Chunk ids are 32 lowercase hex digits (128 random bits), never reused; a store rejects any
 * other id with EINVAL, so no id can name a file outside the store.
 */
import { fsError } from "../common/errors.ts";

/** What a store knows of one chunk. */
export interface ChunkInfo {
  readonly id: string;
  /** Bytes of data (not counting the store's own header). */
  readonly size: number;
  /** CRC32C of the whole data. */
  readonly checksum: number;
  /** When the chunk was written, in ms since the epoch (garbage collection's grace period). */
  readonly writtenAtMs: number;
}

export interface ChunkStore {
  /**
   * Stores `data` under `id`. Durable when the promise resolves (the chunk survives a crash of
   * the process or the machine). Fails with EEXIST when the id is taken, EINVAL for a bad id,
   * ENOSPC when the disk is full. The caller keeps ownership of `data`; the store does not
   * retain it.
   */
  writeChunk(id: string, data: Uint8Array): Promise<ChunkInfo>;

  /**
   * Reads `length` bytes at `offset` of the chunk, fewer when the chunk ends first. Every byte
   * returned was verified against its checksum; damage fails with EIO naming the chunk, the
   * file and the offset. A missing chunk fails with ENOENT.
   */
  readChunk(id: string, offset: number, length: number): Promise<Buffer>;

  /** Removes a chunk; removing a missing chunk succeeds (garbage collection may race). */
  deleteChunk(id: string): Promise<void>;

  /** Every chunk the store holds. */
  listChunks(): Promise<ChunkInfo[]>;

  /** How many chunks and data bytes the store holds. */
  usage(): { chunks: number; bytes: number };

  close(): Promise<void>;
}

const CHUNK_ID = /^[0-9a-f]{32}$/;

/** Throws EINVAL unless `id` is a well-formed chunk id. */
export function validateChunkId(id: string): void {
  if (typeof id !== "string" || !CHUNK_ID.test(id)) {
    throw fsError(
      "EINVAL",
      `chunk ${String(id).slice(0, 40)}`,
      "chunk ids are 32 lowercase hex digits",
    );
  }
}
