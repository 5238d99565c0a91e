/**
 * The mounted file system: each FUSE request answered through the SDK. Open files are SDK
 * descriptors, whose writes the SDK buffers (write-back, per descriptor); they reach the
 * cluster at flush (every close), fsync and release, and before anything that reads the
 * file's attributes or changes them, so close-to-open holds: after close, any client's next
 * open sees the data, and a stat never shows a size short of what was written.
 */
import { constants } from "node:os";
import type { Stats } from "../client/namespace-operations.ts";
import type { SandstoreClient } from "../client/sandstore-client.ts";
import { SandstoreError } from "../common/errors.ts";
import { type FileKind, SPECIAL_KINDS } from "../common/file-kinds.ts";
import { O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from "../index.ts";
import type { FuseBinding, FusePayload, FuseRequest } from "./fuse-binding.ts";

/** What statfs reports as the block size, bytes. */
const BLOCK = 4096;
/** Longest name a directory entry may have, bytes (the Linux limit). */
const NAME_MAX = 255;

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFMT = 0o170000;

/** Each kind's type bits in st_mode. */
const MODE_TYPE: Record<FileKind, number> = {
  file: S_IFREG,
  directory: S_IFDIR,
  symlink: S_IFLNK,
  fifo: 0o010000,
  socket: 0o140000,
  "char-device": 0o020000,
  "block-device": 0o060000,
};

/** The special kinds by their type bits, for mknod. */
const SPECIAL_KIND = new Map(SPECIAL_KINDS.map((kind) => [MODE_TYPE[kind], kind]));

/**
 * The bridge's attributes for `s`: mode with its type, nlink, uid, gid, size, times, ino and
 * rdev.
 */
function attributes(s: Stats): number[] {
  const type = MODE_TYPE[s.type];
  return [
    type | (s.mode & 0o7777),
    s.nlink,
    s.uid,
    s.gid,
    s.size,
    s.atimeMs,
    s.mtimeMs,
    s.ctimeMs,
    s.ino,
    s.rdev,
  ];
}

/**
 * Read-ahead, in blocks of this many bytes at aligned offsets. The kernel asks for 128 KiB at
 * a time, several at once and out of order; a sequential reader's requests then fall into
 * blocks already fetched or under way, and one call to the cluster serves eight of them.
 */
const READ_AHEAD_BLOCK_BYTES = 1024 * 1024;
/** Blocks fetched beyond a sequential read (4 MiB): enough to keep the cluster busy. */
const READ_AHEAD_BLOCKS = 4;
/** Blocks held across every open file: bounds the mount's memory for read-ahead (64 MiB). */
const MAX_READ_AHEAD_BLOCKS_HELD = 64;

interface OpenFile {
  readonly fd: number;
  path: string;
  /** The block the last read ended in; -1 before the first read. */
  lastBlock: number;
  /** Blocks fetched or being fetched, by index, oldest first. */
  readonly blocks: Map<number, Promise<Buffer>>;
}

/** Counts of what the file system did, for the mount's log and tests. */
export interface FileSystemCounters {
  requests: number;
  /** Failures that are no POSIX error of the store's (a transport failure, a bug): EIO. */
  unexpectedErrors: number;
  /** Blocks read ahead that failed to arrive; a read that needs one fetches it again. */
  readAheadFailures: number;
}

/** -errno for `error`: the store's POSIX code, else EIO (counted). */
function errnoOf(error: unknown, counters: FileSystemCounters): number {
  if (error instanceof SandstoreError) {
    const value = constants.errno[error.code as keyof typeof constants.errno];
    if (typeof value === "number") return -value;
  }
  counters.unexpectedErrors++;
  return -constants.errno.EIO;
}

export class SandstoreFileSystem {
  private readonly files = new Map<number, OpenFile>();
  private nextHandle = 1;
  /** Blocks every open file's read-ahead holds (at most MAX_READ_AHEAD_BLOCKS_HELD). */
  private blocksHeld = 0;
  readonly counters: FileSystemCounters = {
    requests: 0,
    unexpectedErrors: 0,
    readAheadFailures: 0,
  };

  /**
   * `client` is the mount's own; `onError` hears each unexpected failure; `onExit` that the
   * mount has ended (unmounted here or by `fusermount3 -u`).
   */
  constructor(
    private readonly client: SandstoreClient,
    private readonly binding: FuseBinding,
    private readonly onError: (op: string, path: string, error: unknown) => void,
    private readonly onExit: () => void,
  ) {}

  /** Answers one request; never throws (a failure is the request's errno). */
  readonly dispatch = (request: FuseRequest): void => {
    if (request.op === "exit") {
      this.onExit();
      return;
    }
    this.counters.requests++;
    this.handle(request).then(
      ({ result, payload }) => this.binding.reply(request.request, result, payload),
      (error: unknown) => {
        const errno = errnoOf(error, this.counters);
        if (!(error instanceof SandstoreError)) this.onError(request.op, request.path, error);
        this.binding.reply(request.request, errno);
      },
    );
  };

  /** Files still open: their buffered writes reach the cluster; for unmount. */
  async flushAll(): Promise<void> {
    for (const file of this.files.values()) await this.flush(file);
  }

  private async handle(r: FuseRequest): Promise<{ result: number; payload?: FusePayload }> {
    const done = { result: 0 };
    switch (r.op) {
      case "getattr": {
        await this.flushPath(r.path);
        return { result: 0, payload: attributes(await this.client.stat(r.path)) };
      }
      case "readdir": {
        // Sizes in the listing must include what open files buffered, as getattr's do.
        await this.flushBelow(r.path);
        const entries: Array<Array<string | number>> = [];
        for await (const entry of this.client.opendir(r.path))
          entries.push([entry.name, ...attributes(entry.stats)]);
        return { result: 0, payload: entries };
      }
      case "open":
        // An open with O_TRUNC empties the file under every other open of it here.
        if (r.a & O_TRUNC) this.dropReadAhead();
        return { result: this.remember(r.path, await this.client.open(r.path, openFlags(r.a))) };
      case "create": {
        const fd = await this.client.open(r.path, openFlags(r.b) | O_CREAT, r.a & 0o7777, {
          owner: ownerOf(r),
        });
        return { result: this.remember(r.path, fd) };
      }
      case "read":
        // A descriptor reads its own buffered writes: nothing to flush first.
        return { result: 0, payload: await this.read(this.file(r), r.a, r.size) };
      case "write": {
        const file = this.file(r);
        const data = r.data ?? Buffer.alloc(0);
        this.dropReadAhead();
        for (let at = 0; at < data.length; )
          at += await this.client.pwrite(file.fd, data.subarray(at), r.a + at);
        return { result: data.length };
      }
      case "flush":
        await this.flush(this.file(r));
        return done;
      case "fsync":
        await this.flush(this.file(r));
        return done;
      case "release": {
        const file = this.file(r);
        this.releaseReadAhead(file);
        this.files.delete(r.fh);
        await this.client.close(file.fd);
        return done;
      }
      case "mkdir":
        await this.client.mkdir(r.path, { mode: r.a & 0o7777, owner: ownerOf(r) });
        return done;
      case "unlink":
        await this.client.unlink(r.path);
        return done;
      case "rmdir":
        await this.client.rmdir(r.path);
        return done;
      case "rename":
        // RENAME_NOREPLACE and RENAME_EXCHANGE are not offered: the namespace renames over.
        if (r.a !== 0) return { result: -constants.errno.EINVAL };
        await this.client.rename(r.path, r.to ?? "");
        // Open files follow their name, for the writes they flush before a stat.
        for (const file of this.files.values())
          if (file.path === r.path) file.path = r.to ?? file.path;
        return done;
      case "symlink":
        await this.client.symlink(r.to ?? "", r.path, { owner: ownerOf(r) });
        return done;
      case "readlink":
        return { result: 0, payload: Buffer.from(await this.client.readlink(r.path)) };
      case "mknod": {
        const kind = SPECIAL_KIND.get(r.a & S_IFMT);
        if (kind) {
          await this.client.mknod(r.path, kind, {
            mode: r.a & 0o7777,
            rdev: r.b,
            owner: ownerOf(r),
          });
          return done;
        }
        // mknod of a regular file (S_IFREG, or no type) makes an empty one.
        if ((r.a & S_IFMT) !== 0 && (r.a & S_IFMT) !== S_IFREG)
          return { result: -constants.errno.EINVAL };
        await this.client.close(
          await this.client.open(r.path, O_CREAT | O_EXCL | O_WRONLY, r.a & 0o7777, {
            owner: ownerOf(r),
          }),
        );
        return done;
      }
      case "link":
        await this.client.link(r.path, r.to ?? "");
        return done;
      case "truncate":
        this.dropReadAhead();
        await this.flushPath(r.path);
        await this.client.truncate(r.path, r.a);
        return done;
      case "chmod":
        await this.flushPath(r.path);
        await this.client.chmod(r.path, r.a & 0o7777);
        return done;
      case "chown": {
        await this.flushPath(r.path);
        const s = await this.client.stat(r.path);
        await this.client.chown(r.path, r.a < 0 ? s.uid : r.a, r.b < 0 ? s.gid : r.b);
        return done;
      }
      case "utimens": {
        // Written bytes would move the modification time after it is set.
        await this.flushPath(r.path);
        const s = r.t1 < 0 || r.t2 < 0 ? await this.client.stat(r.path) : undefined;
        // The namespace keeps whole milliseconds.
        const atime = Math.floor(r.t1 < 0 ? (s?.atimeMs ?? 0) : r.t1);
        const mtime = Math.floor(r.t2 < 0 ? (s?.mtimeMs ?? 0) : r.t2);
        await this.client.utimes(r.path, atime, mtime);
        return done;
      }
      case "statfs":
        return { result: 0, payload: await this.statfs() };
      default:
        return { result: -constants.errno.ENOSYS };
    }
  }

  /** The cluster's capacity as statfs figures: block size, blocks, free, available, files. */
  private async statfs(): Promise<number[]> {
    const status = await this.client.status();
    const data = status.nodes.filter((node) => node.roles.includes("data"));
    const total = data.reduce((sum, node) => sum + node.diskTotalBytes, 0);
    const free = data.reduce((sum, node) => sum + node.diskFreeBytes, 0);
    // Each byte is stored R times: what a user can write is the raw space over R.
    const r = Math.max(1, status.replicationFactor);
    const blocks = Math.floor(total / r / BLOCK);
    const available = Math.floor(free / r / BLOCK);
    return [BLOCK, blocks, available, available, 1 << 30, 1 << 30, NAME_MAX];
  }

  private remember(path: string, fd: number): number {
    const handle = this.nextHandle++;
    this.files.set(handle, { fd, path, lastBlock: -1, blocks: new Map() });
    return handle;
  }

  private file(r: FuseRequest): OpenFile {
    const file = this.files.get(r.fh);
    if (!file) throw new SandstoreError("EBADF", r.path, `no open file ${r.fh}`);
    return file;
  }

  /**
   * `size` bytes at `offset` of an open file. A read in or just after the block the last one
   * ended in is sequential: it is served from whole blocks, and the next READ_AHEAD_BLOCKS
   * are fetched meanwhile. Any other read asks the cluster for exactly what it wants, so that
   * random 4 KiB reads never fetch a megabyte each.
   */
  private async read(file: OpenFile, offset: number, size: number): Promise<Buffer> {
    const first = Math.floor(offset / READ_AHEAD_BLOCK_BYTES);
    const last = Math.floor((offset + Math.max(size, 1) - 1) / READ_AHEAD_BLOCK_BYTES);
    const sequential =
      file.blocks.has(first) || first === file.lastBlock || first === file.lastBlock + 1;
    file.lastBlock = last;
    if (!sequential || size === 0) return this.client.pread(file.fd, size, offset);
    const wanted: Array<Promise<Buffer>> = [];
    for (let block = first; block <= last; block++) wanted.push(this.block(file, block, true));
    for (let block = last + 1; block <= last + READ_AHEAD_BLOCKS; block++)
      void this.block(file, block, false);
    const blocks = await Promise.all(wanted);
    const joined = blocks.length === 1 ? (blocks[0] ?? Buffer.alloc(0)) : Buffer.concat(blocks);
    const from = offset - first * READ_AHEAD_BLOCK_BYTES;
    // A block shorter than the others is the file's end: the read stops there.
    return joined.subarray(Math.min(from, joined.length), from + size);
  }

  /**
   * Block `index` of an open file, fetched once. A block read ahead (`needed` false) is only
   * fetched within the mount's budget; when it fails it is forgotten and counted, and the
   * read that needs it fetches it again and hears the error itself.
   */
  private block(file: OpenFile, index: number, needed: boolean): Promise<Buffer> {
    const held = file.blocks.get(index);
    if (held) return held;
    if (!needed && this.blocksHeld >= MAX_READ_AHEAD_BLOCKS_HELD)
      return Promise.resolve(Buffer.alloc(0));
    const fetched = this.client.pread(
      file.fd,
      READ_AHEAD_BLOCK_BYTES,
      index * READ_AHEAD_BLOCK_BYTES,
    );
    file.blocks.set(index, fetched);
    this.blocksHeld++;
    fetched.catch(() => {
      this.counters.readAheadFailures++;
      if (file.blocks.get(index) === fetched) this.forgetBlock(file, index);
    });
    // Blocks behind the reader go, oldest first: a sequential reader keeps a window.
    while (file.blocks.size > READ_AHEAD_BLOCKS + 2) {
      const oldest = file.blocks.keys().next().value;
      if (oldest === undefined) break;
      this.forgetBlock(file, oldest);
    }
    return fetched;
  }

  private forgetBlock(file: OpenFile, index: number): void {
    if (file.blocks.delete(index)) this.blocksHeld--;
  }

  private releaseReadAhead(file: OpenFile): void {
    for (const index of [...file.blocks.keys()]) this.forgetBlock(file, index);
  }

  /**
   * Forgets every open file's read-ahead: a write or truncate through this mount may change
   * bytes any of them holds (another name of the same file, a hard link, included).
   */
  private dropReadAhead(): void {
    for (const file of this.files.values()) this.releaseReadAhead(file);
  }

  private async flush(file: OpenFile): Promise<void> {
    // Always the SDK's fsync, which costs nothing when no byte is buffered: it also waits for
    // a flush already under way (a getattr's), so a close never returns before its data is
    // committed. Skipping on a "written since" flag returned while that flush was in flight.
    await this.client.fsync(file.fd);
  }

  /** Writes what open files directly in directory `dir` buffered. */
  private async flushBelow(dir: string): Promise<void> {
    const prefix = dir === "/" ? "/" : `${dir}/`;
    for (const file of this.files.values())
      if (file.path.startsWith(prefix) && !file.path.slice(prefix.length).includes("/"))
        await this.flush(file);
  }

  /** Writes what open files of `path` buffered, so its size and contents are current. */
  private async flushPath(path: string): Promise<void> {
    for (const file of this.files.values()) if (file.path === path) await this.flush(file);
  }
}

/**
 * Who a new entry is for: the process that asked, as on a local file system. The cluster
 * honours it when the mount calls as root (or without authentication); a mount calling as a
 * user makes every entry that user's.
 */
function ownerOf(r: FuseRequest): { uid: number; gid: number } {
  return { uid: r.uid, gid: r.gid };
}

/** The SDK's flags for a kernel open's: the access mode and O_TRUNC (the kernel sends offsets). */
function openFlags(flags: number): number {
  const access = flags & 3;
  const mode = access === O_WRONLY ? O_WRONLY : access === O_RDWR ? O_RDWR : O_RDONLY;
  return mode | (flags & O_TRUNC);
}
