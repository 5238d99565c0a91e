/**
 * The `memory` ChunkStore: chunks in a map, for tests and simulation. Reads verify the
 * checksum like the disk store, and `damage` flips a byte so tests can see EIO.
 */
import { crc32c } from "@node-rs/crc32";
import { fsError } from "../common/errors.ts";
import { type ChunkInfo, type ChunkStore, validateChunkId } from "./chunk-store.ts";

export class MemoryChunkStore implements ChunkStore {
  private readonly chunks = new Map<string, { data: Buffer; info: ChunkInfo }>();

  async writeChunk(id: string, data: Uint8Array): Promise<ChunkInfo> {
    validateChunkId(id);
    if (this.chunks.has(id)) throw fsError("EEXIST", `chunk ${id}`);
    const copy = Buffer.from(data);
    const info = { id, size: copy.length, checksum: crc32c(copy), writtenAtMs: Date.now() };
    this.chunks.set(id, { data: copy, info });
    return info;
  }

  async readChunk(id: string, offset: number, length: number): Promise<Buffer> {
    validateChunkId(id);
    const chunk = this.chunks.get(id);
    if (!chunk) throw fsError("ENOENT", `chunk ${id}`);
    if (crc32c(chunk.data) !== chunk.info.checksum) {
      throw fsError("EIO", `chunk ${id}`, "checksum mismatch in memory");
    }
    return Buffer.from(chunk.data.subarray(offset, offset + length));
  }

  async deleteChunk(id: string): Promise<void> {
    validateChunkId(id);
    this.chunks.delete(id);
  }

  async listChunks(): Promise<ChunkInfo[]> {
    return [...this.chunks.values()].map((chunk) => chunk.info);
  }

  usage(): { chunks: number; bytes: number } {
    let bytes = 0;
    for (const chunk of this.chunks.values()) bytes += chunk.data.length;
    return { chunks: this.chunks.size, bytes };
  }

  /** Flips one byte of a stored chunk (tests only). */
  damage(id: string, offset: number): void {
    const chunk = this.chunks.get(id);
    if (!chunk || offset >= chunk.data.length)
      throw new RangeError(`no byte ${offset} in chunk ${id}`);
    chunk.data[offset] = (chunk.data[offset] ?? 0) ^ 0xff;
  }

  async close(): Promise<void> {}
}
