/**
 * The Sandstore SDK: a POSIX-like file API over a cluster (SPEC §3).
 *
 * Writes are buffered per descriptor, one contiguous range inside one chunk slot at a time;
 * a full slot is flushed in the background while the next one fills (at most
 * MAX_FLUSHES_IN_FLIGHT flushes per descriptor, so a bounded number of chunks of memory).
 * `fsync` and `close` flush and wait.
 * A read through a descriptor sees that descriptor's own buffered writes; other descriptors
 * and clients see data once `fsync` or `close` returned.
 */
import { randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { fsError, NotLeaderError, SandstoreError } from "../common/errors.ts";
import { normalizePath } from "../common/paths.ts";
import type { StatusResponse } from "../gen/sandstore/v1/file_service.ts";
import { type ClientSession, FileType, type Inode } from "../gen/sandstore/v1/metadata.ts";
import type { ClientCredentials } from "../transport/file-service-api.ts";
import type { Connection, Transport } from "../transport/transport.ts";

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
/** Redirects followed for one call before giving up: bounds a redirect loop. */
const MAX_REDIRECTS = 5;
/**
 * Mutations in flight per client; more wait. Below the cluster's MAX_SESSION_RESULTS, so
 * every unanswered mutation's result is remembered for its retry.
 */
const MAX_MUTATIONS_IN_FLIGHT = 128;

/** What `stat` returns. Times are ms since the epoch. */
export interface Stats {
  readonly ino: number;
  readonly type: "file" | "directory";
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
}

/** One entry of `readdir`. */
export interface DirEntry {
  readonly name: string;
  readonly stats: Stats;
}

export interface SandstoreClientOptions {
  /** Seed addresses `host:port`; any node will do. */
  readonly cluster: readonly string[];
  readonly transport: Transport;
  /** Deadline of one call in ms. Default 60,000. */
  readonly callTimeoutMs?: number;
  /** How long a call (read or mutation) keeps retrying an unavailable cluster, ms. Default 10,000. */
  readonly retryForMs?: number;
  /**
   * The user's access key and secret (`sandstore user add`), sent with every call. Needed by
   * a cluster with `--auth required`; without them the caller is refused with EACCES. A
   * cluster with `--auth off` treats every client as root.
   */
  readonly credentials?: ClientCredentials;
}

export function toStats(inode: Inode): Stats {
  const isDirectory = inode.type === FileType.FILE_TYPE_DIRECTORY;
  return {
    ino: inode.id,
    type: isDirectory ? "directory" : "file",
    size: inode.size,
    mode: inode.mode,
    uid: inode.uid,
    gid: inode.gid,
    nlink: inode.nlink,
    atimeMs: inode.atimeMs,
    mtimeMs: inode.mtimeMs,
    ctimeMs: inode.ctimeMs,
    isFile: () => !isDirectory,
    isDirectory: () => isDirectory,
  };
}

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
 * filled; three overlap sending with storing without queueing much behind a slow node.
 */
const MAX_FLUSHES_IN_FLIGHT = 3;

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

export class SandstoreClient {
  private readonly seeds: string[];
  private readonly connections = new Map<string, Connection>();
  private current: string;
  private readonly descriptors = new Map<number, Descriptor>();
  private nextFd = 3;
  /** This client's session: a random id, and its mutations numbered from 1. */
  private readonly clientId = randomBytes(16).toString("hex");
  private nextSequence = 1;
  private readonly unanswered = new Set<number>();
  private readonly mutationSlotWaiters: Array<() => void> = [];

  constructor(private readonly options: SandstoreClientOptions) {
    if (options.cluster.length === 0)
      throw new RangeError("at least one cluster address is needed");
    this.seeds = [...options.cluster];
    this.current = this.seeds[0]!;
  }

  // Namespace operations.

  async stat(path: string): Promise<Stats> {
    const p = normalizePath(path);
    const { inode } = await this.query((c) => c.stat({ path: p, access: 0 }));
    return toStats(required(inode, p));
  }

  async mkdir(path: string, options: { recursive?: boolean; mode?: number } = {}): Promise<void> {
    const p = normalizePath(path);
    await this.mutate((c, session) =>
      c.mkdir({
        path: p,
        mode: options.mode ?? 0o755,
        recursive: options.recursive ?? false,
        session,
      }),
    );
  }

  async rmdir(path: string): Promise<void> {
    const p = normalizePath(path);
    await this.mutate((c, session) => c.rmdir({ path: p, session }));
  }

  async unlink(path: string): Promise<void> {
    const p = normalizePath(path);
    await this.mutate((c, session) => c.unlink({ path: p, session }));
  }

  /**
   * Removes a file, or with `recursive` a directory and everything under it (as `rm -r`;
   * the root itself stays, emptied). Not atomic: a failure part way leaves the rest.
   */
  async rm(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const p = normalizePath(path);
    if (!options.recursive || !(await this.stat(p)).isDirectory()) return this.unlink(p);
    for (const entry of await this.readdir(p)) {
      const child = p === "/" ? `/${entry.name}` : `${p}/${entry.name}`;
      if (entry.stats.isDirectory()) await this.rm(child, options);
      else await this.unlink(child);
    }
    if (p !== "/") await this.rmdir(p);
  }

  /** Renames `from` to `to`, replacing an existing `to` as POSIX rename(2) does. */
  async rename(from: string, to: string): Promise<void> {
    const f = normalizePath(from);
    const t = normalizePath(to);
    await this.mutate((c, session) => c.rename({ from: f, to: t, session }));
  }

  async truncate(path: string, size: number): Promise<void> {
    const p = normalizePath(path);
    checkNonNegative(size, "size", p);
    await this.mutate((c, session) => c.setAttr({ path: p, size, session }));
  }

  async chmod(path: string, mode: number): Promise<void> {
    const p = normalizePath(path);
    await this.mutate((c, session) => c.setAttr({ path: p, mode, session }));
  }

  /**
   * Gives a file or directory a new owner and group (chown). Root may give any; an owner may
   * only choose one of its own groups (EPERM otherwise).
   */
  async chown(path: string, uid: number, gid: number): Promise<void> {
    const p = normalizePath(path);
    for (const [value, what] of [
      [uid, "uid"],
      [gid, "gid"],
    ] as const)
      if (!Number.isInteger(value) || value < 0 || value > 0xffff_fffe)
        throw fsError("EINVAL", p, `bad ${what} ${value}`);
    await this.mutate((c, session) => c.setAttr({ path: p, uid, gid, session }));
  }

  /** Sets access and modification times, in ms since the epoch. */
  async utimes(path: string, atimeMs: number, mtimeMs: number): Promise<void> {
    const p = normalizePath(path);
    checkNonNegative(atimeMs, "atime", p);
    checkNonNegative(mtimeMs, "mtime", p);
    await this.mutate((c, session) =>
      c.setAttr({ path: p, atimeMs: Math.floor(atimeMs), mtimeMs: Math.floor(mtimeMs), session }),
    );
  }

  /** Every entry of a directory in name order, fetched a page at a time. */
  async readdir(path: string): Promise<DirEntry[]> {
    const p = normalizePath(path);
    const entries: DirEntry[] = [];
    let afterName = "";
    for (;;) {
      const page = await this.query((c) => c.readDir({ path: p, afterName, limit: 10_000 }));
      for (const entry of page.entries)
        entries.push({ name: entry.name, stats: toStats(required(entry.inode, p)) });
      const last = page.entries.at(-1);
      if (page.done || !last) return entries;
      afterName = last.name;
    }
  }

  /**
   * The cluster's state as the node this client talks to sees it. `stateHash` adds that
   * node's metadata state hash (a pass over its store).
   */
  async status(options: { stateHash?: boolean } = {}): Promise<StatusResponse> {
    return this.query((c) => c.status({ withStateHash: options.stateHash ?? false }));
  }

  // Descriptors.

  /** Opens a file; returns a descriptor. Directories cannot be opened (EISDIR). */
  async open(path: string, flags: number = O_RDONLY, mode = 0o644): Promise<number> {
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
      const reply = await this.mutate((c, session) =>
        c.create({
          path: p,
          mode,
          exclusive: (flags & O_EXCL) !== 0,
          truncate: (flags & O_TRUNC) !== 0,
          access,
          session,
        }),
      );
      inode = required(reply.inode, p);
      chunkSize = reply.chunkSize;
    } else {
      const reply = await this.query((c) => c.stat({ path: p, access }));
      inode = required(reply.inode, p);
      chunkSize = reply.chunkSize;
      if (inode.type === FileType.FILE_TYPE_DIRECTORY) throw fsError("EISDIR", p);
      if (flags & O_TRUNC && inode.size > 0) {
        const reply = await this.mutate((c, session) => c.setAttr({ path: p, size: 0, session }));
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

  /** Streams a file's bytes, a chunk at a time, from `start` to `end` (exclusive). */
  createReadStream(path: string, options: { start?: number; end?: number } = {}): Readable {
    const client = this;
    return Readable.from(
      (async function* () {
        const fd = await client.open(path, O_RDONLY);
        try {
          const d = client.descriptor(fd);
          let position = options.start ?? 0;
          const end = options.end ?? Number.MAX_SAFE_INTEGER;
          while (position < end) {
            const bytes = await client.pread(fd, Math.min(d.chunkSize, end - position), position);
            if (bytes.length === 0) return;
            position += bytes.length;
            yield bytes;
          }
        } finally {
          await client.close(fd);
        }
      })(),
      { objectMode: false, highWaterMark: 1 },
    );
  }

  /** A stream that writes a file from its start (created or truncated; mode 0644). */
  createWriteStream(path: string, options: { flags?: number; mode?: number } = {}): Writable {
    let fd: number | undefined;
    const ready = async () => {
      fd ??= await this.open(
        path,
        options.flags ?? O_WRONLY | O_CREAT | O_TRUNC,
        options.mode ?? 0o644,
      );
      return fd;
    };
    return new Writable({
      highWaterMark: 1024 * 1024,
      write: (chunk: Buffer, _encoding, callback) => {
        ready()
          .then((descriptor) => this.write(descriptor, chunk))
          .then(() => callback(), callback);
      },
      final: (callback) => {
        ready()
          .then((descriptor) => this.close(descriptor))
          .then(() => callback(), callback);
      },
      destroy: (error, callback) => {
        if (fd === undefined || !this.descriptors.has(fd)) return callback(error);
        const descriptor = fd;
        this.close(descriptor).then(
          () => callback(error),
          (closeError) => callback(error ?? closeError),
        );
      },
    });
  }

  /** Closes every connection. Descriptors still open are dropped without a flush. */
  async closeClient(): Promise<void> {
    this.descriptors.clear();
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
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
    const flushed: Promise<void> = this.mutate((c, session) =>
      c.writeChunk({ ...header, session }, data),
    )
      .then(
        (reply) => {
          d.size = Math.max(d.size, reply.inode?.size ?? 0);
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
    const reply = await this.query((c) => c.stat({ path: d.path, access: 0 }));
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
      const pieces = await this.query(async (c) => {
        const out: Buffer[] = [];
        for await (const piece of c.read(request)) out.push(piece);
        return out;
      });
      const size = pieces.reduce((sum, piece) => sum + piece.length, 0);
      parts.push(...pieces);
      got += size;
      if (size < want) break;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
  }

  private query<T>(call: (connection: Connection) => Promise<T>): Promise<T> {
    return this.invoke(call);
  }

  /**
   * Runs a mutation under the next sequence number of this client's session. Every retry
   * carries the same number, so the cluster applies it once however many attempts reach it.
   */
  private async mutate<T>(
    call: (connection: Connection, session: ClientSession) => Promise<T>,
  ): Promise<T> {
    while (this.unanswered.size >= MAX_MUTATIONS_IN_FLIGHT) {
      await new Promise<void>((resolve) => this.mutationSlotWaiters.push(resolve));
    }
    const sequence = this.nextSequence++;
    this.unanswered.add(sequence);
    try {
      const session = {
        clientId: this.clientId,
        sequence,
        // The oldest mutation still waiting for its reply: everything below it was answered.
        acknowledgedBelow: Math.min(...this.unanswered),
      };
      return await this.invoke((connection) => call(connection, session));
    } finally {
      this.unanswered.delete(sequence);
      this.mutationSlotWaiters.shift()?.();
    }
  }

  private connection(address: string): Connection {
    let connection = this.connections.get(address);
    if (!connection) {
      connection = this.options.transport.connect(address, {
        callTimeoutMs: this.options.callTimeoutMs,
        credentials: this.options.credentials,
      });
      this.connections.set(address, connection);
    }
    return connection;
  }

  /**
   * Runs `call` against the current node. Follows NOT_LEADER hints and waits out elections.
   * An unavailable node, or one that timed out, sends the call to the next seed; EAGAIN about
   * a file is asked of the same node again. Retrying is
   * safe for reads, and for mutations because they carry their session (`mutate`). Gives up
   * when `retryForMs` passes, with the last error (EAGAIN or ETIMEDOUT).
   */
  private async invoke<T>(call: (connection: Connection) => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.options.retryForMs ?? 10_000);
    let redirects = 0;
    let attempt = 0;
    for (;;) {
      try {
        return await call(this.connection(this.current));
      } catch (error) {
        const noLeaderYet = error instanceof NotLeaderError && !error.leaderAddress;
        if (error instanceof NotLeaderError && error.leaderAddress && redirects < MAX_REDIRECTS) {
          redirects++;
          this.current = error.leaderAddress;
          continue;
        }
        // Errors about no path are about the cluster, not the file: worth another node.
        const unavailable =
          error instanceof SandstoreError &&
          (error.code === "EAGAIN" || error.code === "ETIMEDOUT") &&
          error.path === "";
        // EAGAIN about a file (a write short of W copies, too few live nodes, too many
        // writers of one chunk) committed nothing: the same node is asked again, and by then
        // its failure detector may have changed the placement.
        const tryAgain =
          error instanceof SandstoreError && error.code === "EAGAIN" && error.path !== "";
        if (unavailable) this.current = this.seeds[++attempt % this.seeds.length]!;
        if (!(noLeaderYet || unavailable || tryAgain) || Date.now() >= deadline) throw error;
        attempt++;
        // Backoff with jitter, capped, so a restarting cluster is not hammered.
        const delay = Math.min(1000, 50 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2);
        await new Promise((resolve) => setTimeout(resolve, delay));
        redirects = 0;
      }
    }
  }
}

function required(inode: Inode | undefined, path: string): Inode {
  if (!inode) throw fsError("EIO", path, "reply without an inode");
  return inode;
}

function checkNonNegative(value: number, what: string, path: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw fsError("EINVAL", path, `bad ${what} ${value}`);
}
