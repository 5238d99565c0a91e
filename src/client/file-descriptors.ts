/**
 * File descriptors of the SDK, with write-back: writes are buffered per descriptor, one
 * contiguous range inside one chunk slot at a time; a full slot is flushed in the background
 * while the next one fills (at most MAX_FLUSHES_IN_FLIGHT flushes per descriptor, so a
 * bounded number of chunks of memory). `fsync` and `close` flush and wait. A read through a
 * descriptor sees that descriptor's own buffered writes; other descriptors and clients see
 * data once `fsync` or `close` returned.
 */
import { fsError } from "../common/errors.ts";
import { notRegularErrno } from "../common/file-kinds.ts";
import { normalizePath } from "../common/paths.ts";
import { FileType, type Inode, type Owner } from "../gen/sandstore/v1/metadata.ts";
import type { BytePaths } from "./byte-paths.ts";
import { checkNonNegative, required } from "./client-checks.ts";
import type { ClusterCaller } from "./cluster-caller.ts";

/** Open flags, with Linux's values. */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
const ACCESS_MODE = 3;
const KNOWN_FLAGS = ACCESS_MODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND;

/** `seek` origins. */
export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;

/** Largest range one Read call asks for; larger reads are split. */
const READ_CALL_BYTES = 64 * 1024 * 1024;

/** The buffered, not yet flushed range of a descriptor: inside one slot, contiguous. */
interface DirtyRange {
  readonly slot: number;
  /** Offset in the slot of the first buffered byte. */
  readonly start: number;
  readonly pieces: Buffer[];
  length: number;
}

/**
 * Chunk flushes a descriptor keeps in flight at once. Each holds a chunk's bytes until the
 * cluster has it, so this bounds a writer's memory at this many chunks plus the one being
 * filled. Two overlap sending with storing: with three, `put` of 1 GiB peaked at 240 to
 * 266 MiB resident, over SPEC's 256 MiB at times, and with two at 222 to 246 MiB, writing
 * as fast (test/large-put.test.ts and `npm run bench:cluster`, 2026-12-02).
 */
const MAX_FLUSHES_IN_FLIGHT = 2;

interface Descriptor {
  readonly path: string;
  readonly inodeId: number;
  readonly flags: number;
  readonly chunkSize: number;
  position: number;
  /** The file's size as this descriptor knows it, its own buffered writes included. */
  size: number;
  dirty: DirtyRange | undefined;
  /**
   * Flushes in flight, by slot (at most MAX_FLUSHES_IN_FLIGHT); a failure is reported by the
   * next call on the descriptor.
   */
  readonly flushing: Map<number, Promise<void>>;
  flushError: unknown;
}

export class FileDescriptors {
  private readonly descriptors = new Map<number, Descriptor>();
  private nextFd = 3;

  constructor(
    private readonly caller: ClusterCaller,
    private readonly bytes: BytePaths,
  ) {}

  async open(
    path: string,
    flags: number = O_RDONLY,
    mode = 0o644,
    options: { owner?: Owner } = {},
  ): Promise<number> {
    const p = normalizePath(path);
    if (!Number.isInteger(flags) || (flags & ~KNOWN_FLAGS) !== 0 || (flags & ACCESS_MODE) === 3) {
      throw fsError("EINVAL", p, `unknown open flags 0o${Number(flags).toString(8)}`);
    }
    const writable = (flags & ACCESS_MODE) !== O_RDONLY;
    if (flags & O_TRUNC && !writable) throw fsError("EINVAL", p, "O_TRUNC needs write access");
    // What the open asks of an existing file, checked by the cluster as access(2) does.
    const access =
      (flags & ACCESS_MODE) === O_RDONLY ? 4 : (flags & ACCESS_MODE) === O_WRONLY ? 2 : 6;
    let inode: Inode;
    let chunkSize: number;
    if (flags & O_CREAT) {
      const reply = await this.caller.mutate((c, session) =>
        c.create({
          path: p,
          mode,
          exclusive: (flags & O_EXCL) !== 0,
          truncate: (flags & O_TRUNC) !== 0,
          access,
          owner: options.owner,
          session,
        }),
      );
      inode = required(reply.inode, p);
      chunkSize = reply.chunkSize;
    } else {
      const reply = await this.caller.query((c) => c.stat({ path: p, access }));
      inode = required(reply.inode, p);
      chunkSize = reply.chunkSize;
      const notRegular = notRegularErrno(inode.type);
      if (notRegular) throw fsError(notRegular, p);
      if (flags & O_TRUNC && inode.size > 0) {
        const reply = await this.caller.mutate((c, session) =>
          c.setAttr({ path: p, size: 0, session, xattrs: [] }),
        );
        inode = required(reply.inode, p);
      }
    }
    if (inode.type === FileType.FILE_TYPE_DIRECTORY) throw fsError("EISDIR", p);
    const fd = this.nextFd++;
    this.descriptors.set(fd, {
      path: p,
      inodeId: inode.id,
      flags,
      chunkSize,
      position: 0,
      size: inode.size,
      dirty: undefined,
      flushing: new Map(),
      flushError: undefined,
    });
    return fd;
  }

  /** Reads up to `length` bytes at the descriptor's position and advances it. */
  async read(fd: number, length: number): Promise<Buffer> {
    const d = this.descriptor(fd);
    const bytes = await this.pread(fd, length, d.position);
    d.position += bytes.length;
    return bytes;
  }

  /** Reads up to `length` bytes at `position`; fewer at the end of the file, none past it. */
  async pread(fd: number, length: number, position: number): Promise<Buffer> {
    const d = this.descriptor(fd);
    if ((d.flags & ACCESS_MODE) === O_WRONLY)
      throw fsError("EBADF", d.path, "descriptor not open for reading");
    checkNonNegative(length, "length", d.path);
    checkNonNegative(position, "position", d.path);
    await this.settle(d);
    const fromServer = await this.readRange(d, position, length);
    const dirty = d.dirty;
    let total = fromServer.length;
    let dirtyStart = 0;
    let dirtyEnd = 0;
    if (dirty) {
      dirtyStart = dirty.slot * d.chunkSize + dirty.start;
      dirtyEnd = dirtyStart + dirty.length;
      if (dirtyEnd > position)
        total = Math.max(total, Math.min(position + length, dirtyEnd) - position);
    }
    if (total === fromServer.length || !dirty) return fromServer;
    const out = Buffer.alloc(total);
    fromServer.copy(out, 0);
    const buffered = Buffer.concat(dirty.pieces, dirty.length);
    const from = Math.max(position, dirtyStart);
    const to = Math.min(position + total, dirtyEnd);
    if (to > from) buffered.copy(out, from - position, from - dirtyStart, to - dirtyStart);
    return out;
  }

  /** Writes `data` at the descriptor's position (the end, with O_APPEND) and advances it. */
  async write(fd: number, data: Uint8Array): Promise<number> {
    const d = this.descriptor(fd);
    const position = d.flags & O_APPEND ? await this.appendPosition(d) : d.position;
    const written = await this.pwrite(fd, data, position);
    d.position = position + written;
    return written;
  }

  /** Writes `data` at `position`; returns the bytes written (all of them). */
  async pwrite(fd: number, data: Uint8Array, position: number): Promise<number> {
    const d = this.descriptor(fd);
    if ((d.flags & ACCESS_MODE) === O_RDONLY)
      throw fsError("EBADF", d.path, "descriptor not open for writing");
    checkNonNegative(position, "position", d.path);
    this.raiseFlushError(d);
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const at = position + done;
      const slot = Math.floor(at / d.chunkSize);
      const inSlot = at - slot * d.chunkSize;
      const take = Math.min(bytes.length - done, d.chunkSize - inSlot);
      // Copy: the caller may reuse its buffer as soon as this returns.
      const piece = Buffer.from(bytes.subarray(done, done + take));
      const dirty = d.dirty;
      if (dirty && (dirty.slot !== slot || dirty.start + dirty.length !== inSlot))
        await this.startFlush(d);
      if (d.dirty) {
        d.dirty.pieces.push(piece);
        d.dirty.length += take;
      } else {
        d.dirty = { slot, start: inSlot, pieces: [piece], length: take };
      }
      d.size = Math.max(d.size, at + take);
      if (inSlot + take === d.chunkSize) await this.startFlush(d);
      done += take;
    }
    return done;
  }

  /** Moves the descriptor's position; returns the new one. */
  async seek(fd: number, offset: number, whence: number = SEEK_SET): Promise<number> {
    const d = this.descriptor(fd);
    let base: number;
    if (whence === SEEK_SET) base = 0;
    else if (whence === SEEK_CUR) base = d.position;
    else if (whence === SEEK_END) base = await this.appendPosition(d);
    else throw fsError("EINVAL", d.path, `unknown whence ${whence}`);
    const position = base + offset;
    if (!Number.isSafeInteger(position) || position < 0)
      throw fsError("EINVAL", d.path, "negative position");
    d.position = position;
    return position;
  }

  /** Flushes the descriptor's buffered writes; every client sees them when this returns. */
  async fsync(fd: number): Promise<void> {
    const d = this.descriptor(fd);
    await this.startFlush(d);
    await this.settle(d);
  }

  /** Flushes and releases the descriptor. It is released even when the flush fails. */
  async close(fd: number): Promise<void> {
    const d = this.descriptor(fd);
    try {
      await this.startFlush(d);
      await this.settle(d);
    } finally {
      this.descriptors.delete(fd);
    }
  }

  // Streams.

  /** True while `fd` is open. */
  isOpen(fd: number): boolean {
    return this.descriptors.has(fd);
  }

  /** The chunk size of the open file `fd`: how a stream sizes its reads. EBADF. */
  chunkSizeOf(fd: number): number {
    return this.descriptor(fd).chunkSize;
  }

  /** Forgets every descriptor without a flush. */
  dropAll(): void {
    this.descriptors.clear();
  }

  // Internals.

  private descriptor(fd: number): Descriptor {
    const d = this.descriptors.get(fd);
    if (!d) throw fsError("EBADF", `fd ${fd}`);
    return d;
  }

  private raiseFlushError(d: Descriptor): void {
    if (d.flushError !== undefined) {
      const error = d.flushError;
      d.flushError = undefined;
      throw error;
    }
  }

  /** Waits for every flush in flight and reports a failure. */
  private async settle(d: Descriptor): Promise<void> {
    while (d.flushing.size > 0) await Promise.all(d.flushing.values());
    this.raiseFlushError(d);
  }

  /**
   * Sends the buffered range. Flushes of other slots may still be in flight: a sequential
   * writer then sends one chunk while the cluster stores the ones before, instead of waiting
   * for each. A flush of a slot waits for the one before it of the same slot (their order is
   * the file's), and for the oldest when MAX_FLUSHES_IN_FLIGHT are in flight.
   */
  private async startFlush(d: Descriptor): Promise<void> {
    const slot = d.dirty?.slot;
    if (slot === undefined) return;
    await d.flushing.get(slot);
    while (d.flushing.size >= MAX_FLUSHES_IN_FLIGHT) await d.flushing.values().next().value;
    this.raiseFlushError(d);
    const dirty = d.dirty;
    if (!dirty) return;
    d.dirty = undefined;
    const data = Buffer.concat(dirty.pieces, dirty.length);
    const header = {
      inodeId: d.inodeId,
      slotIndex: dirty.slot,
      offsetInSlot: dirty.start,
      path: d.path,
    };
    const flushed: Promise<void> = this.bytes
      .write(header, data)
      .then(
        (inode) => {
          d.size = Math.max(d.size, inode?.size ?? 0);
        },
        (error) => {
          d.flushError ??= error;
        },
      )
      .finally(() => {
        if (d.flushing.get(dirty.slot) === flushed) d.flushing.delete(dirty.slot);
      });
    d.flushing.set(dirty.slot, flushed);
  }

  private async appendPosition(d: Descriptor): Promise<number> {
    await this.settle(d);
    const reply = await this.caller.query((c) => c.stat({ path: d.path, access: 0 }));
    if (reply.inode && reply.inode.id === d.inodeId) d.size = Math.max(d.size, reply.inode.size);
    return d.size;
  }

  /** Bytes of [position, position + length) as the cluster has them, split into calls. */
  private async readRange(d: Descriptor, position: number, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < length) {
      const want = Math.min(length - got, READ_CALL_BYTES);
      const request = { inodeId: d.inodeId, offset: position + got, length: want, path: d.path };
      const pieces = await this.bytes.read(request);
      const size = pieces.reduce((sum, piece) => sum + piece.length, 0);
      parts.push(...pieces);
      got += size;
      if (size < want) break;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
  }
}
