/**
 * The `ControlPlane` seam: namespace operations, placement and write intents, and read
 * resolution. Every mutation goes through the `MetadataReplicator`; every read is behind its
 * read barrier unless the caller asks for a stale read by name.
 *
 * Paths given to a control plane are already normalized (`normalizePath`). Errors are
 * SandstoreError with a POSIX code and the path, or NotLeaderError.
 */

import type { NodeInfo } from "../membership/membership.ts";
import type { ChunkSlot, DirPage, Inode } from "../metadata/metadata-store.ts";
import type { ReplicatorStatus } from "../replication/metadata-replicator.ts";

/** Read options. `stale: true` skips the read barrier: faster, possibly out of date. */
export interface ReadOptions {
  readonly stale?: boolean;
}

/** Permission bits and flags of a create. */
export interface CreateOptions {
  readonly mode: number;
  readonly exclusive: boolean;
  readonly truncate: boolean;
}

/** Attribute changes; absent fields stay as they are. */
export interface AttrChanges {
  readonly mode?: number;
  readonly size?: number;
  readonly atimeMs?: number;
  readonly mtimeMs?: number;
}

/** Phase one's ticket: where a new version of one chunk slot is to be written. */
export interface WriteIntent {
  readonly path: string;
  readonly inodeId: number;
  readonly slotIndex: number;
  /** The slot as it is now (undefined: a hole); the commit is conditional on its version. */
  readonly current: ChunkSlot | undefined;
  /** Fresh chunk id for the new version; never used before. */
  readonly chunkId: string;
  /** Nodes to write the new chunk to, R of them (fewer on a smaller cluster). */
  readonly targets: readonly NodeInfo[];
  /** Durable copies needed before the commit may be proposed (W). */
  readonly writeQuorum: number;
}

/** What phase one produced: the new chunk as the replicas that made it durable hold it. */
export interface WrittenChunk {
  /** Valid bytes of the chunk. */
  readonly length: number;
  readonly checksum: number;
  /** Ids of the nodes that hold a durable copy. */
  readonly replicas: readonly string[];
  /** The file's size is raised to at least this (end of the written range). */
  readonly minFileSize: number;
}

/** Outcome of a commit: the slot changed since the intent was made, or the updated inode. */
export type CommitOutcome =
  | { readonly committed: true; readonly inode: Inode }
  | { readonly committed: false };

/** The byte layout of a file range for a read. */
export interface ReadPlan {
  readonly inode: Inode;
  /** The slots overlapping the range, in order; holes are absent. */
  readonly slots: ChunkSlot[];
  readonly chunkSize: number;
}

export interface ControlPlane {
  /** The chunk size of the cluster in bytes. */
  chunkSize(): number;

  stat(path: string, options?: ReadOptions): Promise<Inode>;
  create(path: string, options: CreateOptions): Promise<Inode>;
  mkdir(path: string, mode: number, recursive: boolean): Promise<Inode>;
  rmdir(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  setAttr(path: string, changes: AttrChanges): Promise<Inode>;
  readDir(path: string, afterName: string, limit: number, options?: ReadOptions): Promise<DirPage>;

  /** Phase one's start: a new chunk id and targets for slot `slotIndex` of file `inodeId`. */
  prepareWrite(inodeId: number, slotIndex: number, path: string): Promise<WriteIntent>;
  /** Phase two: the conditional metadata commit of a chunk written under `intent`. */
  commitWrite(intent: WriteIntent, written: WrittenChunk): Promise<CommitOutcome>;
  /** The inode and slots covering [offset, offset + length) of file `inodeId`. */
  resolveRead(
    inodeId: number,
    offset: number,
    length: number,
    path: string,
    options?: ReadOptions,
  ): Promise<ReadPlan>;

  /** True when committed metadata references the chunk (garbage collection asks). */
  isChunkReferenced(chunkId: string): boolean;

  status(): ReplicatorStatus & { inodes: number; chunks: number };
}
