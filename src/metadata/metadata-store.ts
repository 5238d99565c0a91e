/**
 * The `MetadataStore` seam: the namespace state (inodes, directory entries, chunk maps, users
 * and the applied index) and the deterministic state machine that changes it, POSIX
 * permissions included: every command carries its caller, checked at apply time.
 *
 * Only a `MetadataReplicator` calls `apply`, with committed entries in log order. Everyone
 * else reads. Implementations: `lmdb` (durable) and `memory` (tests and simulation).
 */
import type {
  Caller,
  ChunkSlot,
  CommandResult,
  Inode,
  MetadataCommand,
  UserRecord,
} from "../gen/sandstore/v1/metadata.ts";

import type { ClusterSettings } from "./cluster-settings.ts";
import type { SlotCursor } from "./namespace-tables.ts";

export type { Caller, ChunkSlot, CommandResult, Inode, MetadataCommand, SlotCursor, UserRecord };

/** A committed command and its position in the log (indexes start at 1, no gaps). */
export interface LogEntry {
  readonly index: number;
  readonly command: MetadataCommand;
}

/** One directory entry with the attributes of the inode it names. */
export interface DirEntry {
  readonly name: string;
  readonly inode: Inode;
}

/** One page of a directory listing, in byte order of the UTF-8 names. */
export interface DirPage {
  readonly entries: DirEntry[];
  /** True when no entry follows the last one of this page. */
  readonly done: boolean;
}

/**
 * Most bytes an inline slot holds (see `ChunkSlot.inlineData`). A write that keeps its slot
 * within this is one metadata commit instead of a chunk on R nodes plus a commit: for a
 * small file, three chunk copies, each with a file and a directory fsync, and a round of
 * read barrier, are saved. Small, because every metadata replica stores, logs and snapshots
 * the bytes, and a Raft entry carries them whole.
 */
export const MAX_INLINE_SLOT_BYTES = 16 * 1024;

/** True when `slot` holds its bytes in the metadata rather than in a chunk. */
export function isInlineSlot(slot: ChunkSlot): boolean {
  return slot.inlineData !== undefined;
}

/**
 * True when a write ending at `end` (bytes into the slot) can be held inline in a slot that
 * is now `current` (undefined: a hole): the slot holds no chunk and stays within
 * MAX_INLINE_SLOT_BYTES.
 */
export function inlineWriteFits(current: ChunkSlot | undefined, end: number): boolean {
  if (current && !isInlineSlot(current)) return false;
  return Math.max(current?.length ?? 0, end) <= MAX_INLINE_SLOT_BYTES;
}

/**
 * The result codes of a rejected command that are conditions for the writer, not errors for
 * a user, kept apart from the POSIX names so that no caller mistakes one for the other:
 * - `VERSION_CONFLICT`: a chunk commit or a repair's record found the slot changed since it
 *   was read (another writer won the race); the writer retries with the new version.
 * - `NOT_INLINE`: an inline write found the slot holding a chunk, or past the inline limit;
 *   the writer writes a chunk instead.
 */
export type WriterCondition = "VERSION_CONFLICT" | "NOT_INLINE";

/** The inode number of `/`. */
export const ROOT_INODE_ID = 1;

export interface MetadataStore {
  /**
   * Applies committed entries in order. Entries at or below `appliedIndex()` are skipped (so
   * replay after a crash is a no-op for what was applied); the rest must follow it without a
   * gap. The changes and the new applied index are written in one atomic transaction, visible
   * when this returns and durable once `flush()` resolves (until then a crash may roll the
   * store back to an earlier applied index, never to a mix; the replicator replays from its
   * log). Returns one result per entry that was applied, in order; a rejected command is
   * applied as a no-op whose result carries its errno.
   */
  apply(entries: readonly LogEntry[]): CommandResult[];

  /** Resolves when everything applied so far is durable; the applied index it covers. */
  flush(): Promise<number>;

  /** Index of the last applied entry; 0 for a new store. */
  appliedIndex(): number;

  /**
   * The cluster's settings as the applied log decided them (`ConfigureClusterCommand`);
   * undefined until that command is applied.
   */
  settings(): ClusterSettings | undefined;

  /**
   * The inode at a normalized path, as `caller` sees it (undefined: root): it must be allowed to search
   * every directory on the way, and with `access` (R_OK | W_OK | X_OK bits, permissions.ts)
   * have that access to the inode. Throws SandstoreError ENOENT, ENOTDIR or EACCES.
   */
  stat(path: string, caller?: Caller, access?: number): Inode;

  /** Throws SandstoreError EACCES naming `path` unless `caller` has `access` to `inode`. */
  checkAccess(inode: Inode, caller: Caller | undefined, access: number, path: string): void;

  /** The inode with this id, or undefined when there is none (it was removed). */
  getInode(id: number): Inode | undefined;

  /**
   * Up to `limit` entries of the directory at `path` whose names sort after `afterName`
   * (empty: from the start). Paging by name means concurrent changes never make a listing
   * skip or repeat an entry that existed throughout. `caller` must be allowed to search the path and
   * read the directory. Throws ENOENT, ENOTDIR or EACCES.
   */
  readDir(path: string, afterName: string, limit: number, caller?: Caller): DirPage;

  /** The user named `name`, if there is one. */
  getUser(name: string): UserRecord | undefined;

  /** The user holding this access key, if any (a walk over at most MAX_USERS users). */
  findUserByAccessKey(accessKeyId: string): UserRecord | undefined;

  /** Every user, in name order. */
  listUsers(): UserRecord[];

  /**
   * The data servers marked draining (`SetDrainingCommand`), in id order: placement puts no
   * new chunk on them, and repair moves their copies to others.
   */
  drainingNodes(): string[];

  /**
   * Where metadata group member `nodeId` listens, as `SetMemberAddressCommand` recorded it:
   * the members added with an address that the nodes' `--peers` do not name.
   */
  memberAddress(nodeId: string): string | undefined;

  /** Every recorded member address, in id order. */
  memberAddresses(): Array<{ nodeId: string; address: string }>;

  /** The slots of file `inodeId` with index in [firstSlot, endSlot), in order; holes absent. */
  chunkSlots(inodeId: number, firstSlot: number, endSlot: number): ChunkSlot[];

  /** True when some slot of some file points at this chunk id. */
  isChunkReferenced(chunkId: string): boolean;

  /** The nodes committed metadata lists as holding the chunk; undefined when unreferenced. */
  chunkReplicas(chunkId: string): readonly string[] | undefined;

  /**
   * Up to `limit` (at most 1,000) chunk slots of any file, in (inode, slot) order, after
   * `after` or from the start: how repair walks every chunk a page at a time.
   */
  scanChunkSlots(
    after: SlotCursor | undefined,
    limit: number,
  ): Array<{ inodeId: number; slot: ChunkSlot }>;

  /**
   * SHA-256 (hex) of the whole state at the applied index, in the store's key order: equal on
   * two replicas of one store kind at one applied index. A pass over the store; for tests and
   * `status --hash`, not for a hot path.
   */
  stateHash(): string;

  /** Counts for status: inodes (files and directories) and referenced chunks. */
  counts(): { inodes: number; chunks: number };

  /**
   * A consistent snapshot of the whole namespace at the applied index, written to a file under
   * `tempDir` (so its size is known) and streamed from it; the file is removed once streamed.
   * No command may be applied until the stream has been read.
   */
  snapshot(
    tempDir: string,
  ): Promise<{ index: number; size: number; chunks: AsyncIterable<Uint8Array> }>;

  /**
   * Replaces the whole namespace with a snapshot taken at `index`, `size` bytes long, read in
   * pieces through `read`. Atomic: a crash leaves either the old state or the new one.
   */
  restore(
    index: number,
    size: number,
    read: (offset: number, length: number) => Promise<Uint8Array>,
  ): Promise<void>;

  /** Releases files and handles. The store is unusable afterwards. */
  close(): Promise<void>;
}
