/**
 * The Sandstore SDK: a POSIX-like file API over a cluster (SPEC §3). A façade over its
 * concerns, one file each: the cluster caller (connections, the leader, retries, sessions),
 * namespace operations, file descriptors with write-back, and streams.
 */
import type { Readable, Writable } from "node:stream";
import type { SpecialKind } from "../common/file-kinds.ts";
import type { StatusResponse } from "../gen/sandstore/v1/file_service.ts";
import type { Owner } from "../gen/sandstore/v1/metadata.ts";
import { BytePaths, type DirectDataPlaneFactory } from "./byte-paths.ts";
import { ClusterCaller, type ClusterCallerOptions } from "./cluster-caller.ts";
import { FileDescriptors, O_RDONLY, SEEK_SET } from "./file-descriptors.ts";
import { createReadStream, createWriteStream } from "./file-streams.ts";
import {
  type DirEntry,
  type FilePlacement,
  NamespaceOperations,
  type Stats,
  type StatusOptions,
} from "./namespace-operations.ts";

export {
  O_APPEND,
  O_CREAT,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
} from "./file-descriptors.ts";
export { type DirEntry, type Stats, toStats } from "./namespace-operations.ts";

/** What a client takes: the cluster caller's options (seeds, transport, deadlines, credentials). */
export interface SandstoreClientOptions extends ClusterCallerOptions {
  /**
   * How to build the client's own data plane for a cluster whose clients move bytes to the
   * data servers themselves (disaggregated). `connect()` gives one; without it, file reads
   * and writes on such a cluster fail ENOTSUP.
   */
  readonly directDataPlane?: DirectDataPlaneFactory;
}

export class SandstoreClient {
  private readonly caller: ClusterCaller;
  private readonly namespace: NamespaceOperations;
  private readonly files: FileDescriptors;
  private readonly bytes: BytePaths;

  /** Throws RangeError for an empty seed list. */
  constructor(options: SandstoreClientOptions) {
    this.caller = new ClusterCaller(options);
    this.namespace = new NamespaceOperations(this.caller);
    this.bytes = new BytePaths(this.caller, options.directDataPlane);
    this.files = new FileDescriptors(this.caller, this.bytes);
  }

  // Namespace operations (namespace-operations.ts).

  stat(path: string): Promise<Stats> {
    return this.namespace.stat(path);
  }

  mkdir(
    path: string,
    options: { recursive?: boolean; mode?: number; owner?: Owner } = {},
  ): Promise<void> {
    return this.namespace.mkdir(path, options);
  }

  rmdir(path: string): Promise<void> {
    return this.namespace.rmdir(path);
  }

  unlink(path: string): Promise<void> {
    return this.namespace.unlink(path);
  }

  /** See `NamespaceOperations.rm`: `rm -r` with `recursive`, not atomic. */
  rm(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    return this.namespace.rm(path, options);
  }

  rename(from: string, to: string): Promise<void> {
    return this.namespace.rename(from, to);
  }

  /** See `NamespaceOperations.link`: a hard link, `to` another name of `from`. */
  link(from: string, to: string): Promise<void> {
    return this.namespace.link(from, to);
  }

  /** See `NamespaceOperations.symlink`: a symbolic link at `path` holding `target`. */
  symlink(target: string, path: string, options: { owner?: Owner } = {}): Promise<void> {
    return this.namespace.symlink(target, path, options);
  }

  /** See `NamespaceOperations.mknod`: a FIFO, a socket or (root only) a device at `path`. */
  mknod(
    path: string,
    kind: SpecialKind,
    options: { mode?: number; rdev?: number; owner?: Owner } = {},
  ): Promise<void> {
    return this.namespace.mknod(path, kind, options);
  }

  /** See `NamespaceOperations.readlink`: the target of the symbolic link at `path`. */
  readlink(path: string): Promise<string> {
    return this.namespace.readlink(path);
  }

  /** See `NamespaceOperations.setxattrs`: extended attributes set and removed in one change. */
  setxattrs(path: string, changes: Readonly<Record<string, Buffer | string | null>>) {
    return this.namespace.setxattrs(path, changes);
  }

  truncate(path: string, size: number): Promise<void> {
    return this.namespace.truncate(path, size);
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.namespace.chmod(path, mode);
  }

  chown(path: string, uid: number, gid: number): Promise<void> {
    return this.namespace.chown(path, uid, gid);
  }

  utimes(path: string, atimeMs: number, mtimeMs: number): Promise<void> {
    return this.namespace.utimes(path, atimeMs, mtimeMs);
  }

  /** Every entry, in one array; `opendir` for a directory of any size. */
  readdir(path: string): Promise<DirEntry[]> {
    return this.namespace.readdir(path);
  }

  /** The entries in name order, a page at a time as they are iterated. */
  opendir(path: string): AsyncIterableIterator<DirEntry> {
    return this.namespace.opendir(path);
  }

  /** One page of entries after the name `after` (see `NamespaceOperations.readdirPage`). */
  readdirPage(
    path: string,
    options: { after?: string; limit?: number } = {},
  ): Promise<{ entries: DirEntry[]; done: boolean }> {
    return this.namespace.readdirPage(path, options);
  }

  /** See `NamespaceOperations.status`. */
  status(options: StatusOptions = {}): Promise<StatusResponse> {
    return this.namespace.status(options);
  }

  /** See `NamespaceOperations.placement`: where a file's chunks and their copies are. */
  placement(
    path: string,
    options: { fromSlot?: number; limit?: number; verify?: boolean } = {},
  ): Promise<FilePlacement> {
    return this.namespace.placement(path, options);
  }

  // Descriptors (file-descriptors.ts).

  /**
   * Opens `path` with Linux's `flags`; a file it creates gets `mode`, and, when this client
   * calls as root, `owner` (a mount makes files for the process that asked).
   */
  open(
    path: string,
    flags: number = O_RDONLY,
    mode = 0o644,
    options: { owner?: Owner } = {},
  ): Promise<number> {
    return this.files.open(path, flags, mode, options);
  }

  read(fd: number, length: number): Promise<Buffer> {
    return this.files.read(fd, length);
  }

  pread(fd: number, length: number, position: number): Promise<Buffer> {
    return this.files.pread(fd, length, position);
  }

  write(fd: number, data: Uint8Array): Promise<number> {
    return this.files.write(fd, data);
  }

  pwrite(fd: number, data: Uint8Array, position: number): Promise<number> {
    return this.files.pwrite(fd, data, position);
  }

  seek(fd: number, offset: number, whence: number = SEEK_SET): Promise<number> {
    return this.files.seek(fd, offset, whence);
  }

  fsync(fd: number): Promise<void> {
    return this.files.fsync(fd);
  }

  close(fd: number): Promise<void> {
    return this.files.close(fd);
  }

  // Streams (file-streams.ts).

  createReadStream(path: string, options: { start?: number; end?: number } = {}): Readable {
    return createReadStream(this.files, path, options);
  }

  createWriteStream(path: string, options: { flags?: number; mode?: number } = {}): Writable {
    return createWriteStream(this.files, path, options);
  }

  /** Closes every connection. Descriptors still open are dropped without a flush. */
  async closeClient(): Promise<void> {
    this.files.dropAll();
    await this.bytes.close();
    this.caller.close();
  }
}
