/**
 * The `disk` ChunkStore: one file per chunk under `<dir>/<first two hex digits>/<id>`.
 *
 * A chunk is written to `<dir>/tmp/`, fsynced, renamed into place and the directory fsynced,
 * so a crash leaves either the whole chunk or none of it. Leftover temporary files are
 * removed on open.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { crc32c } from "@node-rs/crc32";
import { fsError, SandstoreError } from "../common/errors.ts";
import { fsyncDirectory } from "../common/fs.ts";
import { MAX_CHUNK_SIZE } from "../metadata/cluster-settings.ts";
import {
  CHUNK_BLOCK_SIZE,
  decodeFixedHeader,
  encodeChunkHeader,
  FIXED_HEADER_BYTES,
  headerLength,
} from "./chunk-format.ts";
import { type ChunkInfo, type ChunkStore, validateChunkId } from "./chunk-store.ts";

/** Enough to hold the header of the largest chunk in one read. */
const MAX_HEADER_BYTES = headerLength(MAX_CHUNK_SIZE);

export interface DiskChunkStoreOptions {
  /**
   * Called with the EIO error (naming the file and offset) each time a chunk file fails its
   * checksums: the caller gets the bytes elsewhere, so without this no one would hear of it.
   */
  readonly onDamaged?: (error: SandstoreError) => void;
  /**
   * Asked before every chunk write with its size; throws (ENOSPC) to refuse it, so a disk
   * fills no further than its owner allows (see `DiskSpace`).
   */
  readonly admitWrite?: (bytes: number, chunkId: string) => void;
}

/** Chunk files on a local disk. Owns `dir`; one store per directory. */
export class DiskChunkStore implements ChunkStore {
  private chunks = 0;
  private bytes = 0;

  private constructor(
    private readonly dir: string,
    private readonly options: DiskChunkStoreOptions,
  ) {}

  /** Opens (creating) the store in `dir`, removes leftover temporary files, counts chunks. */
  static async open(dir: string, options: DiskChunkStoreOptions = {}): Promise<DiskChunkStore> {
    const store = new DiskChunkStore(dir, options);
    await rm(join(dir, "tmp"), { recursive: true, force: true });
    await mkdir(join(dir, "tmp"), { recursive: true });
    for (const info of await store.listChunks()) {
      store.chunks++;
      store.bytes += info.size;
    }
    return store;
  }

  private damaged(id: string, path: string, offset: number, reason: string): SandstoreError {
    const error = fsError("EIO", `chunk ${id}`, `${reason} in ${path} at offset ${offset}`);
    this.options.onDamaged?.(error);
    return error;
  }

  private pathOf(id: string): string {
    return join(this.dir, id.slice(0, 2), id);
  }

  async writeChunk(id: string, data: Uint8Array): Promise<ChunkInfo> {
    validateChunkId(id);
    if (data.length > MAX_CHUNK_SIZE) throw fsError("EINVAL", `chunk ${id}`, "chunk too large");
    this.options.admitWrite?.(data.length, id);
    const { header, checksum } = encodeChunkHeader(data);
    const temp = join(this.dir, "tmp", `${id}.${randomBytes(4).toString("hex")}`);
    const finalDir = join(this.dir, id.slice(0, 2));
    const target = this.pathOf(id);
    try {
      const handle = await open(temp, "wx");
      try {
        await handle.writev([header, data]);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await mkdir(finalDir, { recursive: true });
      if (await exists(target)) throw fsError("EEXIST", `chunk ${id}`);
      await rename(temp, target);
      await fsyncDirectory(finalDir);
    } catch (error) {
      await rm(temp, { force: true });
      throw translate(error, id);
    }
    this.chunks++;
    this.bytes += data.length;
    return { id, size: data.length, checksum, writtenAtMs: Date.now() };
  }

  async readChunk(id: string, offset: number, length: number): Promise<Buffer> {
    validateChunkId(id);
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0
    ) {
      throw fsError("EINVAL", `chunk ${id}`, "bad range");
    }
    const path = this.pathOf(id);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, "r");
    } catch (error) {
      throw translate(error, id);
    }
    try {
      const head = Buffer.alloc(MAX_HEADER_BYTES);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      const fields = decodeFixedHeader(head.subarray(0, Math.min(bytesRead, FIXED_HEADER_BYTES)));
      if (typeof fields === "string") throw this.damaged(id, path, 0, fields);
      const headerEnd = FIXED_HEADER_BYTES + 4 * fields.blockCount;
      if (bytesRead < headerEnd + 4) throw this.damaged(id, path, 0, "truncated header");
      if (crc32c(head.subarray(0, headerEnd)) !== head.readUInt32BE(headerEnd)) {
        throw this.damaged(id, path, 0, "header checksum mismatch");
      }
      const end = Math.min(fields.dataLength, offset + length);
      if (offset >= end) return Buffer.alloc(0);
      const firstBlock = Math.floor(offset / CHUNK_BLOCK_SIZE);
      const lastBlock = Math.floor((end - 1) / CHUNK_BLOCK_SIZE);
      const spanStart = firstBlock * CHUNK_BLOCK_SIZE;
      const spanEnd = Math.min(fields.dataLength, (lastBlock + 1) * CHUNK_BLOCK_SIZE);
      const span = Buffer.allocUnsafe(spanEnd - spanStart);
      const dataStart = headerEnd + 4;
      const got = await handle.read(span, 0, span.length, dataStart + spanStart);
      if (got.bytesRead !== span.length) {
        throw this.damaged(
          id,
          path,
          dataStart + spanStart + got.bytesRead,
          "file is shorter than its header says",
        );
      }
      for (let block = firstBlock; block <= lastBlock; block++) {
        const from = (block - firstBlock) * CHUNK_BLOCK_SIZE;
        const piece = span.subarray(from, from + CHUNK_BLOCK_SIZE);
        if (crc32c(piece) !== head.readUInt32BE(FIXED_HEADER_BYTES + 4 * block)) {
          throw this.damaged(
            id,
            path,
            dataStart + block * CHUNK_BLOCK_SIZE,
            `block ${block} checksum mismatch`,
          );
        }
      }
      return span.subarray(offset - spanStart, end - spanStart);
    } finally {
      await handle.close();
    }
  }

  async deleteChunk(id: string): Promise<void> {
    validateChunkId(id);
    const info = await this.describe(id);
    if (!info) return;
    try {
      await unlink(this.pathOf(id));
    } catch (error) {
      if (isNodeError(error) && error.code === "ENOENT") return;
      throw translate(error, id);
    }
    // No directory fsync: a deleted chunk that reappears after a crash is collected again.
    this.chunks--;
    this.bytes -= info.size;
  }

  async listChunks(): Promise<ChunkInfo[]> {
    const out: ChunkInfo[] = [];
    for (const prefix of await readdir(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const name of await readdir(join(this.dir, prefix))) {
        if (!/^[0-9a-f]{32}$/.test(name)) continue;
        const info = await this.describe(name);
        if (info) out.push(info);
      }
    }
    return out;
  }

  /** Size, checksum and age of a chunk from its header; undefined when it vanished. */
  private async describe(id: string): Promise<ChunkInfo | undefined> {
    const path = this.pathOf(id);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, "r");
    } catch {
      return undefined;
    }
    try {
      const fixed = Buffer.alloc(FIXED_HEADER_BYTES);
      await handle.read(fixed, 0, fixed.length, 0);
      const st = await handle.stat();
      const fields = decodeFixedHeader(fixed);
      // A damaged header still names a chunk: list it so it can be collected or repaired.
      return typeof fields === "string"
        ? { id, size: 0, checksum: 0, writtenAtMs: Math.floor(st.mtimeMs) }
        : {
            id,
            size: fields.dataLength,
            checksum: fields.checksum,
            writtenAtMs: Math.floor(st.mtimeMs),
          };
    } finally {
      await handle.close();
    }
  }

  usage(): { chunks: number; bytes: number } {
    return { chunks: this.chunks, bytes: this.bytes };
  }

  async close(): Promise<void> {}
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function isNodeError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && "code" in error;
}

/** Maps file-system errors to typed ones; other errors pass through unchanged. */
function translate(error: unknown, id: string): unknown {
  if (error instanceof SandstoreError || !isNodeError(error)) return error;
  if (error.code === "ENOENT") return fsError("ENOENT", `chunk ${id}`);
  if (error.code === "ENOSPC" || error.code === "EDQUOT") return fsError("ENOSPC", `chunk ${id}`);
  if (error.code === "EEXIST") return fsError("EEXIST", `chunk ${id}`);
  return fsError("EIO", `chunk ${id}`, error.message);
}
