/**
 * The `ControlPlane` seam: namespace operations, placement and write intents, and read
 * resolution. Every mutation goes through the `MetadataReplicator`; every read is behind its
 * read barrier unless the caller asks for a stale read by name.
 *
 * Paths given to a control plane are already normalized (`normalizePath`). Errors are
 * SandstoreError with a POSIX code and the path, or NotLeaderError.
 */

import type {
  Caller,
  ClientSession,
  FileType,
  Owner,
  UserRecord,
  XattrChange,
} from "../gen/sandstore/v1/metadata.ts";
import type { NodeInfo } from "../membership/membership.ts";
import type { ClusterSettings } from "../metadata/cluster-settings.ts";
import type { ChunkSlot, DirPage, Inode, SlotCursor } from "../metadata/metadata-store.ts";
import type { ReplicatorStatus } from "../replication/metadata-replicator.ts";

/**
 * Read options. `stale: true` skips the read barrier: faster, possibly out of date. `caller`
 * is whose permissions the read is checked against (undefined: root); `access` asks a stat to
 * check that access too (R_OK | W_OK | X_OK bits), as access(2) does.
 */
export interface ReadOptions {
  readonly stale?: boolean;
  readonly caller?: Caller;
  readonly access?: number;
}

/** Permission bits and flags of a create. */
export interface CreateOptions {
  readonly mode: number;
  readonly exclusive: boolean;
  readonly truncate: boolean;
  /** The access an open of an existing file asks for (R_OK | W_OK bits). Default none. */
  readonly access?: number;
}

/** Attribute changes; absent fields stay as they are. `uid` and `gid` are a chown. */
export interface AttrChanges {
  readonly mode?: number;
  readonly size?: number;
  readonly atimeMs?: number;
  readonly mtimeMs?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** Extended attributes to set or remove, in order (`XattrChange`). */
  readonly xattrs?: readonly XattrChange[];
}

/** What a `mknod` makes: a special file's type (FileType), permission bits and device. */
export interface SpecialFile {
  readonly type: FileType;
  readonly mode: number;
  /** A device's number (st_rdev); 0 for a FIFO or a socket. */
  readonly rdev: number;
}

/** Who a new user is. */
export interface NewUser {
  /** A POSIX portable login name (`USER_NAME_PATTERN`). */
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups, at most MAX_USER_GROUPS. */
  readonly groups: readonly number[];
}

/** A user's new access key and secret: shown once, to the operator who asked for them. */
export interface UserCredentials {
  readonly name: string;
  readonly accessKeyId: string;
  readonly secret: string;
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
  /** The client's session: the commit is applied once however often the write is retried. */
  readonly session: ClientSession | undefined;
  /** Whose write it is: the commit checks the caller may write the file. */
  readonly caller: Caller | undefined;
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

/**
 * Mutations take the client's session (`ClientSession`): a retried mutation with the same
 * session and sequence is applied once and answered with the first result. They also take
 * the caller (`Caller`, undefined: root), whose permissions every replica checks when the
 * command is applied: EACCES or EPERM when it lacks them.
 */
export interface ControlPlane {
  /**
   * The cluster's settings (chunk size, R, W) as its metadata log decided them at bootstrap.
   * Fails with UnavailableError while they are not decided yet (a new cluster with no
   * leader so far). Settings never change once decided, so a caller may keep them.
   */
  settings(): Promise<ClusterSettings>;

  stat(path: string, options?: ReadOptions): Promise<Inode>;
  /**
   * Makes or opens a file. `owner`, for this and the other calls that make an entry, is who
   * the entry belongs to when the caller is root (absent: the caller); anyone else's entries
   * are theirs.
   */
  create(
    path: string,
    options: CreateOptions,
    session?: ClientSession,
    caller?: Caller,
    owner?: Owner,
  ): Promise<Inode>;
  mkdir(
    path: string,
    mode: number,
    recursive: boolean,
    session?: ClientSession,
    caller?: Caller,
    owner?: Owner,
  ): Promise<Inode>;
  rmdir(path: string, session?: ClientSession, caller?: Caller): Promise<void>;
  unlink(path: string, session?: ClientSession, caller?: Caller): Promise<void>;
  rename(from: string, to: string, session?: ClientSession, caller?: Caller): Promise<void>;
  /** A hard link: `to` becomes another name of the file at `from`; the file, linked. */
  link(from: string, to: string, session?: ClientSession, caller?: Caller): Promise<Inode>;
  /** A symbolic link at `path` holding `target` (checked by the state machine). */
  symlink(
    path: string,
    target: string,
    session?: ClientSession,
    caller?: Caller,
    owner?: Owner,
  ): Promise<Inode>;
  /** A special file (a FIFO, a socket, a device) at `path`; the state machine checks it. */
  mknod(
    path: string,
    special: SpecialFile,
    session?: ClientSession,
    caller?: Caller,
    owner?: Owner,
  ): Promise<Inode>;
  setAttr(
    path: string,
    changes: AttrChanges,
    session?: ClientSession,
    caller?: Caller,
  ): Promise<Inode>;
  readDir(path: string, afterName: string, limit: number, options?: ReadOptions): Promise<DirPage>;

  /** Phase one's start: a new chunk id and targets for slot `slotIndex` of file `inodeId`. */
  prepareWrite(
    inodeId: number,
    slotIndex: number,
    path: string,
    session?: ClientSession,
    caller?: Caller,
  ): Promise<WriteIntent>;
  /**
   * A small write held in the metadata (see `MAX_INLINE_SLOT_BYTES`): lays `data` over slot
   * `slotIndex` of file `inodeId` at `offsetInSlot` in one commit. Resolves with the inode, or
   * undefined when the slot holds a chunk or would outgrow the inline limit: the caller writes
   * a chunk instead, under the same session.
   */
  writeInline(
    inodeId: number,
    slotIndex: number,
    offsetInSlot: number,
    data: Buffer,
    path: string,
    session?: ClientSession,
    caller?: Caller,
  ): Promise<Inode | undefined>;
  /** Phase two: the conditional metadata commit of a chunk written under `intent`. */
  commitWrite(intent: WriteIntent, written: WrittenChunk): Promise<CommitOutcome>;
  /**
   * The inode and slots covering [offset, offset + length) of file `inodeId`; EACCES when
   * `options.caller` may not read it.
   */
  resolveRead(
    inodeId: number,
    offset: number,
    length: number,
    path: string,
    options?: ReadOptions,
  ): Promise<ReadPlan>;

  /**
   * The nodes this node's committed metadata lists as holding the chunk, undefined when no
   * file references it (garbage collection asks; on the leader this is current).
   */
  chunkReplicas(chunkId: string): Promise<readonly string[] | undefined>;

  /**
   * Up to `limit` chunk slots after `after`, in order, read behind the read barrier: repair's
   * walk over every chunk.
   */
  scanChunkSlots(
    after: SlotCursor | undefined,
    limit: number,
  ): Promise<Array<{ inodeId: number; slot: ChunkSlot }>>;

  /**
   * Records that a slot's chunk now has copies on `replicas` (repair). False when the slot
   * no longer points at that chunk: a write replaced it, and the repair is moot.
   */
  recordReplicas(
    inodeId: number,
    slotIndex: number,
    chunkId: string,
    replicas: readonly string[],
  ): Promise<boolean>;

  /**
   * Adds a user with a new access key and secret, which only the answer holds: the metadata
   * keeps the secret's hash. Root only. EEXIST when the name, uid or key is taken, EINVAL for
   * a malformed user, ENOSPC past MAX_USERS.
   */
  addUser(user: NewUser, caller?: Caller): Promise<UserCredentials>;
  /** Gives user `name` a new access key and secret; the old ones stop working. ENOENT. */
  resetSecret(name: string, caller?: Caller): Promise<UserCredentials>;
  /** Removes user `name`; their files keep their uid. ENOENT. */
  removeUser(name: string, caller?: Caller): Promise<void>;
  /** Every user, behind the read barrier. */
  listUsers(): Promise<UserRecord[]>;
  /**
   * The user holding `accessKeyId`, by this node's view without a barrier: what
   * authentication asks on every call, where a view a moment old is acceptable.
   */
  userByAccessKey(accessKeyId: string): Promise<UserRecord | undefined>;

  /**
   * True while this control plane leads the metadata group, by its own view without a round
   * of consensus: cheap enough for a background loop to ask before each step.
   */
  isLeader(): Promise<boolean>;

  /**
   * True when this control plane leads and has applied everything committed before the call
   * (a read barrier): what work that trusts the metadata to be current needs, since a new
   * leader, or one rebuilding its store, can lag its own log for a while. False when
   * leadership is lost or cannot be confirmed now.
   */
  isCurrentLeader(): Promise<boolean>;

  /** SHA-256 of the metadata state at the applied index (see `MetadataStore.stateHash`). */
  stateHash(): Promise<string>;

  /** The metadata group as this control plane sees it, with namespace counts. */
  status(): Promise<ReplicatorStatus & { inodes: number; chunks: number }>;
}
