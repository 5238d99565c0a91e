/**
 * Namespace operations of the SDK: stat, directories, renames, attributes, listings and the
 * cluster's status, each a call (with its retries) through the cluster caller.
 */
import { type CopyHealth, copyHealthOf } from "../common/cluster-reports.ts";
import { fsError } from "../common/errors.ts";
import { type FileKind, kindOf, type SpecialKind, specialType } from "../common/file-kinds.ts";
import { normalizePath, symlinkTargetProblem } from "../common/paths.ts";
import type { PlacementResponse, StatusResponse } from "../gen/sandstore/v1/file_service.ts";
import { FileType, type Inode, type Owner } from "../gen/sandstore/v1/metadata.ts";
import { checkNonNegative, required } from "./client-checks.ts";
import type { ClusterCaller } from "./cluster-caller.ts";

/** Entries asked for per page of a listing: bounds a listing's memory to one page. */
export const DIR_PAGE_ENTRIES = 10_000;

export type { CopyHealth, FileKind, SpecialKind };

/** Where a page of a file's chunk slots lives (`placement`). Sizes in bytes. */
export interface FilePlacement {
  readonly size: number;
  readonly chunkSize: number;
  /** The cluster's R: a slot with fewer good copies is under-replicated. */
  readonly replicationFactor: number;
  readonly slots: ReadonlyArray<{
    readonly index: number;
    /** Bytes of the file the slot covers: [offset, offset + length). */
    readonly offset: number;
    readonly length: number;
    /** Empty for a slot held inline in the metadata (which has no copies). */
    readonly chunkId: string;
    readonly inline: boolean;
    readonly copies: ReadonlyArray<{
      readonly nodeId: string;
      /** Empty when the answering node does not know it. */
      readonly address: string;
      /** Whether the cluster's membership counts the holder live. */
      readonly live: boolean;
      readonly health: CopyHealth;
    }>;
  }>;
  /** The slot to ask from for the next page; absent on the last page. */
  readonly nextSlot?: number;
}

function toPlacement(reply: PlacementResponse, path: string): FilePlacement {
  return {
    size: reply.size,
    chunkSize: reply.chunkSize,
    replicationFactor: reply.replicationFactor,
    slots: reply.slots.map((slot) => ({
      index: slot.index,
      offset: slot.offset,
      length: slot.length,
      chunkId: slot.chunkId,
      inline: slot.inline,
      copies: slot.copies.map((copy) => {
        const health = copyHealthOf(copy.health);
        if (!health) throw fsError("EIO", path, `a node answered copy health "${copy.health}"`);
        return { nodeId: copy.nodeId, address: copy.address, live: copy.live, health };
      }),
    })),
    ...(reply.nextSlot !== undefined && { nextSlot: reply.nextSlot }),
  };
}

/** What `status` adds to the answering node's view. */
export interface StatusOptions {
  /** A hash of the node's whole metadata state (a pass over its store). */
  readonly stateHash?: boolean;
  /** The node's recent events (elections, repairs, scrub findings, membership changes). */
  readonly events?: boolean;
}

/**
 * What `stat` returns (as lstat(2): a symbolic link is described, not followed). Times are
 * ms since the epoch; a symbolic link's size is its target's length in bytes.
 */
export interface Stats {
  readonly ino: number;
  readonly type: FileKind;
  /** A device's number (st_rdev); 0 for anything else. */
  readonly rdev: number;
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  /** Extended attributes by name (`setxattrs`); the caller must not change the buffers. */
  readonly xattrs: Readonly<Record<string, Buffer>>;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** One entry of `readdir`. */
export interface DirEntry {
  readonly name: string;
  readonly stats: Stats;
}

export function toStats(inode: Inode): Stats {
  const type = kindOf(inode.type);
  return {
    ino: inode.id,
    type,
    rdev: inode.rdev,
    size: inode.size,
    mode: inode.mode,
    uid: inode.uid,
    gid: inode.gid,
    nlink: inode.nlink,
    atimeMs: inode.atimeMs,
    mtimeMs: inode.mtimeMs,
    ctimeMs: inode.ctimeMs,
    xattrs: inode.xattrs,
    isFile: () => type === "file",
    isDirectory: () => type === "directory",
    isSymbolicLink: () => type === "symlink",
  };
}

export class NamespaceOperations {
  constructor(private readonly caller: ClusterCaller) {}

  async stat(path: string): Promise<Stats> {
    const p = normalizePath(path);
    const { inode } = await this.caller.query((c) => c.stat({ path: p, access: 0 }));
    return toStats(required(inode, p));
  }

  /**
   * Makes a directory; `recursive` is mkdir -p. `owner` is who it belongs to when this
   * client calls as root (as for every call that makes an entry); otherwise the caller.
   */
  async mkdir(
    path: string,
    options: { recursive?: boolean; mode?: number; owner?: Owner } = {},
  ): Promise<void> {
    const p = normalizePath(path);
    await this.caller.mutate((c, session) =>
      c.mkdir({
        path: p,
        mode: options.mode ?? 0o755,
        recursive: options.recursive ?? false,
        owner: options.owner,
        session,
      }),
    );
  }

  async rmdir(path: string): Promise<void> {
    const p = normalizePath(path);
    await this.caller.mutate((c, session) => c.rmdir({ path: p, session }));
  }

  async unlink(path: string): Promise<void> {
    const p = normalizePath(path);
    await this.caller.mutate((c, session) => c.unlink({ path: p, session }));
  }

  /**
   * Removes a file, or with `recursive` a directory and everything under it (as `rm -r`;
   * the root itself stays, emptied). Not atomic: a failure part way leaves the rest.
   */
  async rm(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const p = normalizePath(path);
    if (!options.recursive || !(await this.stat(p)).isDirectory()) return this.unlink(p);
    for await (const entry of this.opendir(p)) {
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
    await this.caller.mutate((c, session) => c.rename({ from: f, to: t, session }));
  }

  /**
   * Makes `to` another name of the file at `from` (link(2)). EPERM for a directory, EEXIST
   * when `to` exists, EMLINK past MAX_LINKS names.
   */
  async link(from: string, to: string): Promise<void> {
    const f = normalizePath(from);
    const t = normalizePath(to);
    await this.caller.mutate((c, session) => c.link({ from: f, to: t, session }));
  }

  /**
   * Makes a symbolic link at `path` holding `target` (symlink(2)): any non-empty string of
   * at most 4,095 bytes without NUL, which the store keeps as given and never follows.
   */
  async symlink(target: string, path: string, options: { owner?: Owner } = {}): Promise<void> {
    const p = normalizePath(path);
    const problem = symlinkTargetProblem(target);
    if (problem) throw fsError(problem.code, p, problem.detail);
    await this.caller.mutate((c, session) =>
      c.symlink({ path: p, target, owner: options.owner, session }),
    );
  }

  /**
   * Makes a special file at `path` (mknod(2)): a `fifo`, a `socket`, or, for root only, a
   * `char-device` or `block-device` numbered `rdev`. The namespace holds the name and its
   * attributes; a mount's kernel does its I/O (a pipe, a device), and the SDK cannot open one
   * (ENOTSUP).
   */
  async mknod(
    path: string,
    kind: SpecialKind,
    options: { mode?: number; rdev?: number; owner?: Owner } = {},
  ): Promise<void> {
    const p = normalizePath(path);
    const type = specialType(kind);
    if (type === undefined) throw fsError("EINVAL", p, `not a special file kind: ${String(kind)}`);
    const rdev = options.rdev ?? 0;
    if (!Number.isSafeInteger(rdev) || rdev < 0) throw fsError("EINVAL", p, `bad rdev ${rdev}`);
    await this.caller.mutate((c, session) =>
      c.mknod({ path: p, type, mode: options.mode ?? 0o644, rdev, owner: options.owner, session }),
    );
  }

  /** The target of the symbolic link at `path` (readlink(2)); EINVAL when it is not one. */
  async readlink(path: string): Promise<string> {
    const p = normalizePath(path);
    const { inode } = await this.caller.query((c) => c.stat({ path: p, access: 0 }));
    const found = required(inode, p);
    if (found.type !== FileType.FILE_TYPE_SYMLINK)
      throw fsError("EINVAL", p, "not a symbolic link");
    return found.symlinkTarget;
  }

  async truncate(path: string, size: number): Promise<void> {
    const p = normalizePath(path);
    checkNonNegative(size, "size", p);
    await this.caller.mutate((c, session) => c.setAttr({ path: p, size, session, xattrs: [] }));
  }

  async chmod(path: string, mode: number): Promise<void> {
    const p = normalizePath(path);
    await this.caller.mutate((c, session) => c.setAttr({ path: p, mode, session, xattrs: [] }));
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
    await this.caller.mutate((c, session) => c.setAttr({ path: p, uid, gid, session, xattrs: [] }));
  }

  /**
   * Sets and removes extended attributes of `path` in one change, all or none: each name
   * maps to its new value, or to null to remove it (a name not there is no error). Names
   * are `user.*` (needs write access), or `trusted.*`, `security.*`, `system.*` (root); 1 to
   * 255 bytes; values up to 64 KiB, an inode's all together up to 64 KiB (ENOSPC past it).
   * Read them back with `stat(path).xattrs`.
   */
  async setxattrs(path: string, changes: Readonly<Record<string, Buffer | string | null>>) {
    const p = normalizePath(path);
    const xattrs = Object.entries(changes).map(([name, value]) =>
      value === null
        ? { name, value: Buffer.alloc(0), remove: true }
        : { name, value: Buffer.from(value), remove: false },
    );
    await this.caller.mutate((c, session) => c.setAttr({ path: p, session, xattrs }));
  }

  /** Sets access and modification times, in ms since the epoch. */
  async utimes(path: string, atimeMs: number, mtimeMs: number): Promise<void> {
    const p = normalizePath(path);
    checkNonNegative(atimeMs, "atime", p);
    checkNonNegative(mtimeMs, "mtime", p);
    await this.caller.mutate((c, session) =>
      c.setAttr({
        path: p,
        atimeMs: Math.floor(atimeMs),
        mtimeMs: Math.floor(mtimeMs),
        session,
        xattrs: [],
      }),
    );
  }

  /**
   * Every entry of a directory in name order, in one array: for a directory of any size, use
   * `opendir`, which holds one page at a time.
   */
  async readdir(path: string): Promise<DirEntry[]> {
    const entries: DirEntry[] = [];
    for await (const entry of this.opendir(path)) entries.push(entry);
    return entries;
  }

  /**
   * The entries of a directory in name order, fetched a page (at most DIR_PAGE_ENTRIES) at
   * a time as the caller iterates. Pages continue after the last name seen, so an entry that
   * exists throughout is listed exactly once, however the directory changes meanwhile.
   */
  async *opendir(path: string): AsyncIterableIterator<DirEntry> {
    const p = normalizePath(path);
    let afterName = "";
    for (;;) {
      const page = await this.caller.query((c) =>
        c.readDir({ path: p, afterName, limit: DIR_PAGE_ENTRIES }),
      );
      for (const entry of page.entries)
        yield { name: entry.name, stats: toStats(required(entry.inode, p)) };
      const last = page.entries.at(-1);
      if (page.done || !last) return;
      afterName = last.name;
    }
  }

  /**
   * One page of a directory's entries in name order: at most `limit` (1 to DIR_PAGE_ENTRIES,
   * default DIR_PAGE_ENTRIES) after the name `after` (default the start). `done` is true when
   * no entry follows the last one given; ask again after that name for the next page.
   */
  async readdirPage(
    path: string,
    options: { after?: string; limit?: number } = {},
  ): Promise<{ entries: DirEntry[]; done: boolean }> {
    const p = normalizePath(path);
    const limit = options.limit ?? DIR_PAGE_ENTRIES;
    if (!Number.isInteger(limit) || limit < 1 || limit > DIR_PAGE_ENTRIES)
      throw fsError("EINVAL", p, `page size must be 1 to ${DIR_PAGE_ENTRIES}, not ${limit}`);
    const page = await this.caller.query((c) =>
      c.readDir({ path: p, afterName: options.after ?? "", limit }),
    );
    return {
      entries: page.entries.map((entry) => ({
        name: entry.name,
        stats: toStats(required(entry.inode, p)),
      })),
      done: page.done,
    };
  }

  /**
   * The cluster's state as the node this client talks to sees it. `stateHash` adds that
   * node's metadata state hash (a pass over its store); `events`, its recent events.
   */
  async status(options: StatusOptions = {}): Promise<StatusResponse> {
    return this.caller.query((c) =>
      c.status({
        withStateHash: options.stateHash ?? false,
        withEvents: options.events ?? false,
      }),
    );
  }

  /**
   * Where the file at `path` keeps its bytes: from slot `fromSlot` (default 0), up to `limit`
   * chunk slots (default and most 1024, or 16 with `verify`), each copy with its node, that
   * node's liveness and, with `verify`, the copy's health after a read of it where it lies.
   * `nextSlot` continues. EACCES unless the caller may read the file; EISDIR for a directory.
   */
  async placement(
    path: string,
    options: { fromSlot?: number; limit?: number; verify?: boolean } = {},
  ): Promise<FilePlacement> {
    const p = normalizePath(path);
    const fromSlot = options.fromSlot ?? 0;
    const limit = options.limit ?? 0;
    checkNonNegative(fromSlot, "first slot", p);
    checkNonNegative(limit, "limit", p);
    const reply = await this.caller.query((c) =>
      c.placement({ path: p, fromSlot, limit, verify: options.verify ?? false }),
    );
    return toPlacement(reply, p);
  }
}
