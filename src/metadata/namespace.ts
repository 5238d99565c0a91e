/**
 * The namespace state machine: applies metadata commands to `NamespaceTables` with POSIX
 * rules checked at apply time (never before consensus), deterministically: the only inputs
 * are the tables and the command, which carries the proposer's clock.
 */

import { createHash } from "node:crypto";
import { crc32c } from "@node-rs/crc32";
import { type Errno, isErrno, SandstoreError } from "../common/errors.ts";
import { isSpecialType, notRegularErrno } from "../common/file-kinds.ts";
import { isHostPort } from "../common/host-port.ts";
import { NODE_ID_PATTERN } from "../common/node-id.ts";
import { isSameOrBelow, parentAndName, splitPath, symlinkTargetProblem } from "../common/paths.ts";
import { stageSnapshot } from "../common/snapshot-staging.ts";
import {
  type Caller,
  type ChunkSlot,
  type ClientSession,
  CommandResult,
  type CommitChunkCommand,
  type ConfigureClusterCommand,
  type CreateCommand,
  FileType,
  type Inode,
  type LinkCommand,
  type MetadataCommand,
  type MkdirCommand,
  type MknodCommand,
  type PutUserCommand,
  type RecordReplicasCommand,
  type RenameCommand,
  type SessionRecord,
  type SetAttrCommand,
  type SymlinkCommand,
  type UserRecord,
  type WriteInlineCommand,
} from "../gen/sandstore/v1/metadata.ts";
import { type ClusterSettings, settingsProblem } from "./cluster-settings.ts";
import {
  type DirPage,
  inlineWriteFits,
  isInlineSlot,
  type LogEntry,
  type MetadataStore,
  ROOT_INODE_ID,
  type WriterCondition,
} from "./metadata-store.ts";
import { decodeNamespaceRecords, encodeNamespaceRecord } from "./namespace-snapshot.ts";
import type { NamespaceRecord, NamespaceTables, SlotCursor } from "./namespace-tables.ts";
import {
  isRoot,
  mayAccess,
  mayChown,
  ownsOrRoot,
  R_OK,
  S_ISGID,
  stickyAllows,
  W_OK,
  X_OK,
} from "./permissions.ts";

/**
 * Largest directory page a caller may ask for, in entries. Large, because a listing costs a
 * round trip per page (10,000 entries listed 35% faster in pages of 10,000 than of 1,000).
 */
export const MAX_READDIR_PAGE = 10_000;
/**
 * Bytes of names a directory page holds at most, counting each entry's inode as 128 bytes:
 * with names of up to 255 bytes, a full page of entries could pass the 4 MiB message limit.
 */
const MAX_READDIR_PAGE_BYTES = 2 * 1024 * 1024;
const INODE_BYTES_ESTIMATE = 128;

/**
 * Sessions kept at most. Past it the least recently active tenth is forgotten, and a retry
 * from a forgotten client is applied again; a client that retries within minutes of its
 * first try is never among the least recently active of this many.
 */
export const MAX_SESSIONS = 10_000;
/**
 * Unacknowledged results kept per client: bounds a session's size. A client keeps fewer
 * mutations than this in flight (the SDK waits for a free slot).
 */
export const MAX_SESSION_RESULTS = 256;
/** Longest client id a session may have. */
export const MAX_CLIENT_ID_LENGTH = 64;
/**
 * Users kept at most: a client proving an access key this node has not cached is looked up
 * by a walk over every user, and a new user's uid and access key are checked the same way.
 */
export const MAX_USERS = 1000;
/** What a user name may be: a POSIX portable login name. */
export const USER_NAME_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;
/** Supplementary groups a user may have (Linux's NGROUPS_MAX is 65,536; NFS's AUTH_SYS 16). */
export const MAX_USER_GROUPS = 32;
/**
 * Most data servers marked draining at once: a drain moves every copy a server holds, so a
 * handful at a time is what a cluster can carry; the limit bounds the list every placement
 * reads.
 */
export const MAX_DRAINING = 64;
/**
 * Most member addresses recorded: a Raft group is 3 or 5 members, and members replaced over
 * the years stay recorded, so a few dozen is plenty; the lookup walks them.
 */
export const MAX_MEMBER_ADDRESSES = 64;

/**
 * Most names one file may have (hard links). Linux's ext4 allows 65,000; the bound keeps the
 * link count far inside a uint32 and a file's names a count a person can reason about.
 */
export const MAX_LINKS = 65_000;

/** Longest extended attribute name, as Linux's XATTR_NAME_MAX. */
export const MAX_XATTR_NAME_BYTES = 255;
/** Largest extended attribute value, as Linux's XATTR_SIZE_MAX. */
export const MAX_XATTR_VALUE_BYTES = 64 * 1024;
/**
 * Most bytes of names and values one inode's extended attributes hold together: every
 * attribute is copied with its inode in every stat, listing and snapshot.
 */
export const MAX_XATTR_TOTAL_BYTES = 64 * 1024;
/** The namespaces an extended attribute's name may be in, as on Linux. */
const XATTR_NAMESPACES = ["user.", "trusted.", "security.", "system."];

/** Thrown inside apply to reject a command; becomes the command's result, not an exception. */
class Rejection {
  constructor(
    readonly errno: Errno | WriterCondition,
    readonly path: string,
  ) {}
}

function reject(errno: Errno | WriterCondition, path: string): never {
  throw new Rejection(errno, path);
}

/**
 * The namespace over a set of tables. `MetadataStore` implementations extend it and supply
 * the tables; everything that decides what a command does lives here, once.
 */
export abstract class Namespace implements MetadataStore {
  protected abstract readonly tables: NamespaceTables;
  /**
   * Whose permissions the command being applied, or the read being answered, is checked
   * against (undefined: root). Set for the length of one synchronous apply or read only.
   */
  private caller: Caller | undefined;

  /**
   * Creates the root directory on first open; the cluster's settings come later, from the
   * log (`ConfigureClusterCommand`). Call once from the constructor of the implementation,
   * after its tables exist.
   */
  protected initialize(): void {
    const t = this.tables;
    if (t.getCounter("applied") !== undefined) return;
    t.transaction(() => {
      t.putCounter("applied", 0);
      t.putCounter("nextInode", ROOT_INODE_ID + 1);
      t.putCounter("inodeCount", 1);
      t.putCounter("chunkCount", 0);
      t.putInode(
        newInode(ROOT_INODE_ID, FileType.FILE_TYPE_DIRECTORY, 0o755, 0, 0, 0, ROOT_INODE_ID),
      );
    });
  }

  apply(entries: readonly LogEntry[]): CommandResult[] {
    const t = this.tables;
    return t.transaction(() => {
      let applied = this.appliedIndex();
      const results: CommandResult[] = [];
      for (const entry of entries) {
        if (entry.index <= applied) continue;
        if (entry.index !== applied + 1) {
          throw new Error(`log gap: applied index is ${applied}, next entry is ${entry.index}`);
        }
        results.push(this.applyInSession(entry.index, entry.command));
        applied = entry.index;
      }
      t.putCounter("applied", applied);
      return results;
    });
  }

  appliedIndex(): number {
    return this.tables.getCounter("applied") ?? 0;
  }

  settings(): ClusterSettings | undefined {
    const t = this.tables;
    const chunkSize = t.getCounter("chunkSize");
    const replicationFactor = t.getCounter("replicationFactor");
    const writeQuorum = t.getCounter("writeQuorum");
    if (chunkSize === undefined || replicationFactor === undefined || writeQuorum === undefined)
      return undefined;
    return { chunkSize, replicationFactor, writeQuorum };
  }

  /**
   * The decided chunk size, for a command that slices a file; a command applied before the
   * cluster's settings is refused EINVAL (the control plane never proposes one).
   */
  private chunkSize(where: string): number {
    const size = this.tables.getCounter("chunkSize");
    if (size === undefined) reject("EINVAL", where);
    return size;
  }

  stat(path: string, caller?: Caller, access = 0): Inode {
    return this.asCaller(caller, () => {
      const inode = this.resolve(path);
      if (access !== 0 && !mayAccess(inode, caller, access)) reject("EACCES", path);
      return inode;
    });
  }

  checkAccess(inode: Inode, caller: Caller | undefined, access: number, path: string): void {
    if (!mayAccess(inode, caller, access)) throw new SandstoreError("EACCES", path);
  }

  getUser(name: string): UserRecord | undefined {
    return this.tables.getUser(name);
  }

  findUserByAccessKey(accessKeyId: string): UserRecord | undefined {
    for (const user of this.tables.listUsers()) if (user.accessKeyId === accessKeyId) return user;
    return undefined;
  }

  listUsers(): UserRecord[] {
    return [...this.tables.listUsers()];
  }

  drainingNodes(): string[] {
    return this.tables.listDraining();
  }

  memberAddress(nodeId: string): string | undefined {
    return this.tables.getMemberAddress(nodeId);
  }

  memberAddresses(): Array<{ nodeId: string; address: string }> {
    return this.tables.listMemberAddresses();
  }

  /** Runs a read as `caller`, turning a rejection into a SandstoreError. */
  private asCaller<T>(caller: Caller | undefined, fn: () => T): T {
    this.caller = caller;
    try {
      return fn();
    } catch (error) {
      // Reads reject with POSIX names only; a writer's condition comes from commands alone.
      if (error instanceof Rejection)
        throw new SandstoreError(isErrno(error.errno) ? error.errno : "EIO", error.path);
      throw error;
    } finally {
      this.caller = undefined;
    }
  }

  getInode(id: number): Inode | undefined {
    return this.tables.getInode(id);
  }

  readDir(path: string, afterName: string, limit: number, caller?: Caller): DirPage {
    const dir = this.stat(path, caller);
    if (dir.type !== FileType.FILE_TYPE_DIRECTORY) throw new SandstoreError("ENOTDIR", path);
    this.checkAccess(dir, caller, R_OK, path);
    const pageSize = Math.max(1, Math.min(limit, MAX_READDIR_PAGE));
    // One more than asked tells whether the page is the last without a second query.
    const children = this.tables.listChildren(dir.id, afterName, pageSize + 1);
    const entries: Array<{ name: string; inode: Inode }> = [];
    let bytes = 0;
    for (const { name, id } of children.slice(0, pageSize)) {
      bytes += Buffer.byteLength(name) + INODE_BYTES_ESTIMATE;
      if (bytes > MAX_READDIR_PAGE_BYTES && entries.length > 0) return { entries, done: false };
      const inode = this.tables.getInode(id);
      if (!inode) throw new Error(`directory entry ${path}/${name} names missing inode ${id}`);
      entries.push({ name, inode });
    }
    return { entries, done: children.length <= pageSize };
  }

  chunkSlots(inodeId: number, firstSlot: number, endSlot: number): ChunkSlot[] {
    return this.tables.getSlots(inodeId, firstSlot, endSlot);
  }

  scanChunkSlots(
    after: SlotCursor | undefined,
    limit: number,
  ): Array<{ inodeId: number; slot: ChunkSlot }> {
    return this.tables.scanSlots(after, Math.max(1, Math.min(limit, MAX_READDIR_PAGE)));
  }

  stateHash(): string {
    const hash = createHash("sha256");
    for (const record of this.tables.dump()) hash.update(encodeNamespaceRecord(record));
    return hash.digest("hex");
  }

  isChunkReferenced(chunkId: string): boolean {
    return this.tables.hasChunkRef(chunkId);
  }

  chunkReplicas(chunkId: string): readonly string[] | undefined {
    const inodeId = this.tables.getChunkRef(chunkId);
    if (inodeId === undefined) return undefined;
    const slot = this.tables
      .getSlots(inodeId, 0, Number.MAX_SAFE_INTEGER)
      .find((s) => s.chunkId === chunkId);
    return slot?.replicas;
  }

  counts(): { inodes: number; chunks: number } {
    return {
      inodes: this.tables.getCounter("inodeCount") ?? 0,
      chunks: this.tables.getCounter("chunkCount") ?? 0,
    };
  }

  async snapshot(
    tempDir: string,
  ): Promise<{ index: number; size: number; chunks: AsyncIterable<Uint8Array> }> {
    const index = this.appliedIndex();
    const tables = this.tables;
    const records = (function* () {
      for (const record of tables.dump()) yield encodeNamespaceRecord(record);
    })();
    return { index, ...(await stageSnapshot(tempDir, `namespace-snapshot-${index}`, records)) };
  }

  async restore(
    index: number,
    size: number,
    read: (offset: number, length: number) => Promise<Uint8Array>,
  ): Promise<void> {
    const records: NamespaceRecord[] = [];
    let pending = Buffer.alloc(0);
    for (let offset = 0; offset < size; ) {
      const piece = Buffer.from(await read(offset, Math.min(1024 * 1024, size - offset)));
      if (piece.length === 0)
        throw new Error(`namespace snapshot at ${index}: no bytes at offset ${offset} of ${size}`);
      offset += piece.length;
      pending = pending.length === 0 ? piece : Buffer.concat([pending, piece]);
      const decoded = decodeNamespaceRecords(pending);
      records.push(...decoded.records);
      pending = pending.subarray(decoded.used);
    }
    if (pending.length > 0) throw new Error(`namespace snapshot at ${index} ends inside a record`);
    const t = this.tables;
    t.transaction(() => {
      t.clear();
      for (const r of records) {
        if (r.table === "inode") t.putInode(r.inode);
        else if (r.table === "child") t.putChild(r.parentId, r.name, r.id);
        else if (r.table === "slot") t.putSlot(r.inodeId, r.slot);
        else if (r.table === "chunkRef") t.putChunkRef(r.chunkId, r.inodeId);
        else if (r.table === "counter") t.putCounter(r.name, r.value);
        else if (r.table === "session") t.putSession(r.session);
        else if (r.table === "user") t.putUser(r.user);
        else if (r.table === "draining") t.putDraining(r.nodeId);
        else if (r.table === "memberAddress") t.putMemberAddress(r.nodeId, r.address);
        else t.putSessionResult(r.result);
      }
      t.putCounter("applied", index);
    });
  }

  abstract flush(): Promise<number>;

  abstract close(): Promise<void>;

  /**
   * Applies a command once per client session: a retry of a mutation returns the remembered
   * result without applying it again. Rejections are remembered too: otherwise a copy of a
   * command could be refused, answered, and then succeed as a later copy, taking effect after
   * the client was told it failed. The exceptions are the refusals after which the writer
   * goes on under the same session (`writerMovesOn`). A copy older than what the client has
   * acknowledged is refused.
   */
  private applyInSession(index: number, command: MetadataCommand): CommandResult {
    const session = command.session;
    if (!session) return this.applyOne(command);
    if (session.clientId.length === 0 || session.clientId.length > MAX_CLIENT_ID_LENGTH) {
      return { errno: "EINVAL", errorPath: "", inode: undefined };
    }
    const known = this.tables.getSession(session.clientId);
    if (known) {
      if (session.sequence < known.acknowledgedBelow) {
        return { errno: "EINVAL", errorPath: "", inode: undefined };
      }
      const earlier = this.tables.getSessionResult(session.clientId, session.sequence);
      if (earlier) return CommandResult.decode(earlier);
    }
    const result = this.applyOne(command);
    this.remember(index, session, known, writerMovesOn(command, result) ? undefined : result);
    return result;
  }

  private remember(
    index: number,
    session: ClientSession,
    known: SessionRecord | undefined,
    result: CommandResult | undefined,
  ): void {
    const { clientId } = session;
    const acknowledgedBelow = Math.max(known?.acknowledgedBelow ?? 0, session.acknowledgedBelow);
    let resultCount = known?.resultCount ?? 0;
    if (known && acknowledgedBelow > known.acknowledgedBelow)
      resultCount -= this.tables.deleteSessionResults(clientId, acknowledgedBelow);
    if (result) {
      const encoded = Buffer.from(CommandResult.encode(result).finish());
      this.tables.putSessionResult({ clientId, sequence: session.sequence, result: encoded });
      resultCount++;
    }
    // Oldest first out: a client with more in flight than this broke its side of the contract.
    if (resultCount > MAX_SESSION_RESULTS)
      resultCount -= this.tables.deleteSessionResults(
        clientId,
        Number.MAX_SAFE_INTEGER,
        resultCount - MAX_SESSION_RESULTS,
      );
    this.tables.putSession({ clientId, acknowledgedBelow, lastActiveIndex: index, resultCount });
    if (!known) {
      const count = (this.tables.getCounter("sessionCount") ?? 0) + 1;
      this.tables.putCounter("sessionCount", count);
      if (count > MAX_SESSIONS) this.evictSessions(count);
    }
  }

  /** Forgets the least recently active tenth of the sessions; deterministic on every replica. */
  private evictSessions(count: number): void {
    const byAge = [...this.tables.listSessions()].sort(
      (a, b) => a.lastActiveIndex - b.lastActiveIndex || (a.clientId < b.clientId ? -1 : 1),
    );
    const evict = byAge.slice(0, Math.ceil(MAX_SESSIONS / 10));
    for (const session of evict) {
      this.tables.deleteSessionResults(session.clientId, Number.MAX_SAFE_INTEGER);
      this.tables.deleteSession(session.clientId);
    }
    this.tables.putCounter("sessionCount", count - evict.length);
  }

  private applyOne(command: MetadataCommand): CommandResult {
    this.caller = command.caller;
    try {
      const inode = this.dispatch(command);
      return { errno: "", errorPath: "", inode };
    } catch (error) {
      if (error instanceof Rejection) {
        return { errno: error.errno, errorPath: error.path, inode: undefined };
      }
      throw error;
    } finally {
      this.caller = undefined;
    }
  }

  private dispatch(command: MetadataCommand): Inode | undefined {
    const c = command.command;
    switch (c?.$case) {
      case "create":
        return this.create(c.value);
      case "mkdir":
        return this.mkdir(c.value);
      case "rmdir":
        this.rmdir(c.value.path, c.value.nowMs);
        return undefined;
      case "unlink":
        this.unlink(c.value.path, c.value.nowMs);
        return undefined;
      case "rename":
        this.rename(c.value);
        return undefined;
      case "link":
        return this.link(c.value);
      case "symlink":
        return this.symlink(c.value);
      case "mknod":
        return this.mknod(c.value);
      case "setAttr":
        return this.setAttr(c.value);
      case "commitChunk":
        return this.commitChunk(c.value);
      case "recordReplicas":
        return this.recordReplicas(c.value);
      case "writeInline":
        return this.writeInline(c.value);
      case "putUser":
        this.putUser(c.value);
        return undefined;
      case "removeUser":
        this.removeUser(c.value.name);
        return undefined;
      case "setDraining":
        this.setDraining(c.value.nodeId, c.value.draining);
        break;
      case "setMemberAddress":
        this.setMemberAddress(c.value.nodeId, c.value.address);
        break;
      case "configureCluster":
        this.configureCluster(c.value);
        return undefined;
      case undefined:
        return reject("EINVAL", "");
    }
  }

  /**
   * Walks `path` from the root. Rejects ENOENT for a missing name, ENOTDIR through a file,
   * EACCES through a directory the caller may not search, naming `reportAs` (the path the
   * caller asked about) in the error.
   */
  private resolve(path: string, reportAs = path): Inode {
    let inode = this.tables.getInode(ROOT_INODE_ID);
    if (!inode) throw new Error("root inode missing");
    for (const name of splitPath(path)) {
      if (inode.type !== FileType.FILE_TYPE_DIRECTORY) reject("ENOTDIR", reportAs);
      if (!mayAccess(inode, this.caller, X_OK)) reject("EACCES", reportAs);
      const childId = this.tables.getChild(inode.id, name);
      if (childId === undefined) reject("ENOENT", reportAs);
      const child = this.tables.getInode(childId);
      if (!child) throw new Error(`entry ${name} names missing inode ${childId}`);
      inode = child;
    }
    return inode;
  }

  /** The directory that would hold `path`, and the last name. */
  private resolveParent(path: string): { parent: Inode; name: string } {
    if (path === "/") reject("EEXIST", path);
    const { parent: parentPath, name } = parentAndName(path);
    const parent = this.resolve(parentPath, path);
    if (parent.type !== FileType.FILE_TYPE_DIRECTORY) reject("ENOTDIR", path);
    return { parent, name };
  }

  /** Rejects EACCES unless the caller may add or remove entries of `dir` (write and search). */
  private requireWritableDir(dir: Inode, path: string): void {
    if (!mayAccess(dir, this.caller, W_OK | X_OK)) reject("EACCES", path);
  }

  /** Rejects EACCES when the sticky bit of `dir` keeps the caller from removing `entry`. */
  private requireSticky(dir: Inode, entry: Inode, path: string): void {
    if (!stickyAllows(dir, entry, this.caller)) reject("EACCES", path);
  }

  /** The owner and group of an entry the caller makes in `parent`. */
  private newOwner(parent: Inode): { uid: number; gid: number } {
    const uid = this.caller?.uid ?? 0;
    // A set-group-id directory hands its group down, as on Linux and BSD.
    const gid = (parent.mode & S_ISGID) !== 0 ? parent.gid : (this.caller?.gid ?? 0);
    return { uid, gid };
  }

  /**
   * Who owns an entry made in `parent` by a command naming `requested`: a caller that is not
   * root owns what it makes, whatever the command says; root, or no caller (a cluster
   * without authentication), makes it for the command's owner, as a mount does for the
   * process that asked. A set-group-id parent hands its group down either way.
   */
  private ownerFor(parent: Inode, requested: { uid: number; gid: number }) {
    if (this.caller && !isRoot(this.caller)) return this.newOwner(parent);
    const gid = (parent.mode & S_ISGID) !== 0 ? parent.gid : requested.gid;
    return { uid: requested.uid, gid };
  }

  private allocateInodeId(): number {
    const id = this.tables.getCounter("nextInode") ?? ROOT_INODE_ID + 1;
    this.tables.putCounter("nextInode", id + 1);
    this.tables.putCounter("inodeCount", (this.tables.getCounter("inodeCount") ?? 0) + 1);
    return id;
  }

  private touch(inode: Inode, nowMs: number, nlinkDelta = 0): void {
    this.tables.putInode({
      ...inode,
      mtimeMs: nowMs,
      ctimeMs: nowMs,
      nlink: inode.nlink + nlinkDelta,
    });
  }

  private create(c: CreateCommand): Inode {
    const { parent, name } = this.resolveParent(c.path);
    const existingId = this.tables.getChild(parent.id, name);
    if (existingId !== undefined) {
      if (c.exclusive) reject("EEXIST", c.path);
      const existing = this.tables.getInode(existingId);
      if (!existing) throw new Error(`entry names missing inode ${existingId}`);
      // A mount's kernel resolves symbolic links itself, and does a special file's I/O.
      requireRegular(existing, c.path);
      const access = (c.access & (R_OK | W_OK)) | (c.truncate ? W_OK : 0);
      if (!mayAccess(existing, this.caller, access)) reject("EACCES", c.path);
      return c.truncate && existing.size > 0 ? this.truncate(existing, 0, c.nowMs) : existing;
    }
    this.requireWritableDir(parent, c.path);
    const owner = this.ownerFor(parent, c);
    const inode = newInode(
      this.allocateInodeId(),
      FileType.FILE_TYPE_REGULAR,
      c.mode,
      owner.uid,
      owner.gid,
      c.nowMs,
      parent.id,
    );
    this.tables.putInode(inode);
    this.tables.putChild(parent.id, name, inode.id);
    this.touch(parent, c.nowMs);
    return inode;
  }

  private mkdir(c: MkdirCommand): Inode {
    if (!c.recursive) return this.mkdirOne(c.path, c);
    if (c.path === "/") return this.resolve("/");
    let current = this.resolve("/");
    let walked = "";
    for (const name of splitPath(c.path)) {
      walked += `/${name}`;
      if (!mayAccess(current, this.caller, X_OK)) reject("EACCES", c.path);
      const childId = this.tables.getChild(current.id, name);
      if (childId === undefined) {
        current = this.mkdirOne(walked, c);
        continue;
      }
      const child = this.tables.getInode(childId);
      if (!child) throw new Error(`entry names missing inode ${childId}`);
      if (child.type !== FileType.FILE_TYPE_DIRECTORY) {
        reject(walked === c.path ? "EEXIST" : "ENOTDIR", c.path);
      }
      current = child;
    }
    return current;
  }

  private mkdirOne(path: string, c: MkdirCommand): Inode {
    const { parent, name } = this.resolveParent(path);
    if (this.tables.getChild(parent.id, name) !== undefined) reject("EEXIST", path);
    this.requireWritableDir(parent, path);
    const owner = this.ownerFor(parent, c);
    // A directory made in a set-group-id directory is set-group-id too.
    const mode = c.mode | (parent.mode & S_ISGID);
    const dir = newInode(
      this.allocateInodeId(),
      FileType.FILE_TYPE_DIRECTORY,
      mode,
      owner.uid,
      owner.gid,
      c.nowMs,
      parent.id,
    );
    this.tables.putInode(dir);
    this.tables.putChild(parent.id, name, dir.id);
    this.touch(parent, c.nowMs, 1);
    return dir;
  }

  private rmdir(path: string, nowMs: number): void {
    if (path === "/") reject("EINVAL", path);
    const { parent, name } = this.resolveParent(path);
    const dir = this.resolve(path);
    if (dir.type !== FileType.FILE_TYPE_DIRECTORY) reject("ENOTDIR", path);
    this.requireWritableDir(parent, path);
    this.requireSticky(parent, dir, path);
    if (this.tables.listChildren(dir.id, "", 1).length > 0) reject("ENOTEMPTY", path);
    this.removeEntry(parent, name, dir, nowMs);
  }

  private unlink(path: string, nowMs: number): void {
    if (path === "/") reject("EISDIR", path);
    const { parent, name } = this.resolveParent(path);
    const file = this.resolve(path);
    if (file.type === FileType.FILE_TYPE_DIRECTORY) reject("EISDIR", path);
    this.requireWritableDir(parent, path);
    this.requireSticky(parent, file, path);
    this.removeEntry(parent, name, file, nowMs);
  }

  /**
   * Removes the entry `name` of `parent`, and the inode it names with its chunk map when that
   * was the inode's last name (a file with hard links loses one link).
   */
  private removeEntry(parent: Inode, name: string, inode: Inode, nowMs: number): void {
    this.tables.deleteChild(parent.id, name);
    const fresh = this.tables.getInode(parent.id) ?? parent;
    if (inode.type !== FileType.FILE_TYPE_DIRECTORY && inode.nlink > 1) {
      this.tables.putInode({ ...inode, nlink: inode.nlink - 1, ctimeMs: nowMs });
      this.touch(fresh, nowMs);
      return;
    }
    this.dropSlotsFrom(inode.id, 0);
    this.tables.deleteInode(inode.id);
    this.tables.putCounter("inodeCount", (this.tables.getCounter("inodeCount") ?? 1) - 1);
    this.touch(fresh, nowMs, inode.type === FileType.FILE_TYPE_DIRECTORY ? -1 : 0);
  }

  private rename(c: RenameCommand): void {
    if (c.from === "/" || c.to === "/") reject("EINVAL", c.from === "/" ? c.from : c.to);
    const source = this.resolve(c.from);
    const { parent: fromParent, name: fromName } = this.resolveParent(c.from);
    const { parent: toParent, name: toName } = this.resolveParent(c.to);
    if (c.from === c.to) return;
    const isDir = source.type === FileType.FILE_TYPE_DIRECTORY;
    if (isDir && isSameOrBelow(c.to, c.from)) reject("EINVAL", c.to);
    this.requireWritableDir(fromParent, c.from);
    this.requireSticky(fromParent, source, c.from);
    this.requireWritableDir(toParent, c.to);
    // A directory that changes parent rewrites its "..": it must be writable too (as Linux).
    if (isDir && fromParent.id !== toParent.id && !mayAccess(source, this.caller, W_OK))
      reject("EACCES", c.from);
    const targetId = this.tables.getChild(toParent.id, toName);
    if (targetId !== undefined) {
      const target = this.tables.getInode(targetId);
      if (!target) throw new Error(`entry names missing inode ${targetId}`);
      if (target.id === source.id) return;
      this.requireSticky(toParent, target, c.to);
      const targetIsDir = target.type === FileType.FILE_TYPE_DIRECTORY;
      if (isDir && !targetIsDir) reject("ENOTDIR", c.to);
      if (!isDir && targetIsDir) reject("EISDIR", c.to);
      if (targetIsDir && this.tables.listChildren(target.id, "", 1).length > 0) {
        reject("ENOTEMPTY", c.to);
      }
      this.removeEntry(toParent, toName, target, c.nowMs);
    }
    this.tables.deleteChild(fromParent.id, fromName);
    this.tables.putChild(toParent.id, toName, source.id);
    this.tables.putInode({ ...source, parentId: toParent.id, ctimeMs: c.nowMs });
    const linkDelta = isDir ? 1 : 0;
    if (fromParent.id === toParent.id) {
      this.touch(this.tables.getInode(fromParent.id) ?? fromParent, c.nowMs);
    } else {
      this.touch(this.tables.getInode(fromParent.id) ?? fromParent, c.nowMs, -linkDelta);
      this.touch(this.tables.getInode(toParent.id) ?? toParent, c.nowMs, linkDelta);
    }
  }

  private link(c: LinkCommand): Inode {
    const source = this.resolve(c.from);
    // Hard links to directories would make the tree a graph (POSIX lets systems refuse them).
    if (source.type === FileType.FILE_TYPE_DIRECTORY) reject("EPERM", c.from);
    const { parent, name } = this.resolveParent(c.to);
    if (this.tables.getChild(parent.id, name) !== undefined) reject("EEXIST", c.to);
    this.requireWritableDir(parent, c.to);
    if (source.nlink >= MAX_LINKS) reject("EMLINK", c.from);
    const linked: Inode = { ...source, nlink: source.nlink + 1, ctimeMs: c.nowMs };
    this.tables.putInode(linked);
    this.tables.putChild(parent.id, name, source.id);
    this.touch(parent, c.nowMs);
    return linked;
  }

  private symlink(c: SymlinkCommand): Inode {
    const problem = symlinkTargetProblem(c.target);
    if (problem) reject(problem.code, c.path);
    const { parent, name } = this.resolveParent(c.path);
    if (this.tables.getChild(parent.id, name) !== undefined) reject("EEXIST", c.path);
    this.requireWritableDir(parent, c.path);
    const owner = this.ownerFor(parent, c);
    const inode: Inode = {
      ...newInode(
        this.allocateInodeId(),
        FileType.FILE_TYPE_SYMLINK,
        0o777,
        owner.uid,
        owner.gid,
        c.nowMs,
        parent.id,
      ),
      size: Buffer.byteLength(c.target, "utf8"),
      symlinkTarget: c.target,
    };
    this.tables.putInode(inode);
    this.tables.putChild(parent.id, name, inode.id);
    this.touch(parent, c.nowMs);
    return inode;
  }

  private mknod(c: MknodCommand): Inode {
    if (!isSpecialType(c.type)) reject("EINVAL", c.path);
    const device =
      c.type === FileType.FILE_TYPE_CHAR_DEVICE || c.type === FileType.FILE_TYPE_BLOCK_DEVICE;
    // Devices are root's to make, as Linux keeps them to CAP_MKNOD.
    if (device && !isRoot(this.caller)) reject("EPERM", c.path);
    const { parent, name } = this.resolveParent(c.path);
    if (this.tables.getChild(parent.id, name) !== undefined) reject("EEXIST", c.path);
    this.requireWritableDir(parent, c.path);
    const owner = this.ownerFor(parent, c);
    const inode: Inode = {
      ...newInode(this.allocateInodeId(), c.type, c.mode, owner.uid, owner.gid, c.nowMs, parent.id),
      rdev: device ? c.rdev : 0,
    };
    this.tables.putInode(inode);
    this.tables.putChild(parent.id, name, inode.id);
    this.touch(parent, c.nowMs);
    return inode;
  }

  private setAttr(c: SetAttrCommand): Inode {
    let inode = this.resolve(c.path);
    // Every check before any change: a refused command changes nothing.
    const settingTimes = c.atimeMs !== undefined || c.mtimeMs !== undefined;
    if ((c.mode !== undefined || settingTimes) && !ownsOrRoot(inode, this.caller))
      reject("EPERM", c.path);
    const uid = c.uid ?? inode.uid;
    const gid = c.gid ?? inode.gid;
    if ((c.uid !== undefined || c.gid !== undefined) && !mayChown(inode, this.caller, uid, gid))
      reject("EPERM", c.path);
    if (c.size !== undefined) {
      if (inode.type === FileType.FILE_TYPE_DIRECTORY) reject("EISDIR", c.path);
      if (inode.type !== FileType.FILE_TYPE_REGULAR) reject("EINVAL", c.path);
      if (!mayAccess(inode, this.caller, W_OK)) reject("EACCES", c.path);
    }
    const xattrs = c.xattrs.length > 0 ? this.changedXattrs(inode, c) : inode.xattrs;
    if (c.size !== undefined) inode = this.truncate(inode, c.size, c.nowMs);
    let mode = c.mode === undefined ? inode.mode : c.mode & 0o7777;
    // A chown by anyone but root clears set-user-id and set-group-id, as on Linux.
    if ((c.uid !== undefined || c.gid !== undefined) && !isRoot(this.caller)) mode &= ~0o6000;
    const updated: Inode = {
      ...inode,
      mode,
      uid,
      gid,
      atimeMs: c.atimeMs ?? inode.atimeMs,
      mtimeMs: c.mtimeMs ?? inode.mtimeMs,
      ctimeMs: c.nowMs,
      xattrs,
    };
    this.tables.putInode(updated);
    return updated;
  }

  /**
   * `inode`'s extended attributes after `c`'s changes, or the refusal: ENOTSUP for a name in
   * no namespace (`user.`, `trusted.`, `security.`, `system.`), EPERM for one under
   * `trusted.`, `security.` or `system.` unless root, EACCES without write access, EINVAL for
   * a name or value out of bounds, ENOSPC past the inode's total. Changes nothing itself.
   */
  private changedXattrs(inode: Inode, c: SetAttrCommand): Record<string, Buffer> {
    const xattrs: Record<string, Buffer> = { ...inode.xattrs };
    for (const change of c.xattrs) {
      const nameBytes = Buffer.byteLength(change.name);
      if (nameBytes === 0 || nameBytes > MAX_XATTR_NAME_BYTES || change.name.includes("\0"))
        reject("EINVAL", c.path);
      if (change.value.length > MAX_XATTR_VALUE_BYTES) reject("EINVAL", c.path);
      if (!XATTR_NAMESPACES.some((prefix) => change.name.startsWith(prefix)))
        reject("ENOTSUP", c.path);
      const privileged = !change.name.startsWith("user.");
      if (privileged && !isRoot(this.caller)) reject("EPERM", c.path);
      if (!privileged && !mayAccess(inode, this.caller, W_OK)) reject("EACCES", c.path);
      if (change.remove) delete xattrs[change.name];
      else xattrs[change.name] = Buffer.from(change.value);
    }
    let total = 0;
    for (const [name, value] of Object.entries(xattrs))
      total += Buffer.byteLength(name) + value.length;
    if (total > MAX_XATTR_TOTAL_BYTES) reject("ENOSPC", c.path);
    return xattrs;
  }

  /**
   * Sets a file's size. Slots wholly past the new end are dropped; the slot holding the new
   * end keeps only the bytes before it, so growing the file again reads zeros there.
   */
  private truncate(inode: Inode, size: number, nowMs: number): Inode {
    if (size < inode.size) {
      const chunkSize = this.chunkSize(`inode ${inode.id}`);
      const keepWhole = Math.floor(size / chunkSize);
      const tail = size % chunkSize;
      if (tail > 0) {
        const [slot] = this.tables.getSlots(inode.id, keepWhole, keepWhole + 1);
        if (slot && slot.length > tail) this.tables.putSlot(inode.id, shortened(slot, tail));
      }
      this.dropSlotsFrom(inode.id, tail > 0 ? keepWhole + 1 : keepWhole);
    }
    const updated = { ...inode, size, mtimeMs: nowMs, ctimeMs: nowMs };
    this.tables.putInode(updated);
    return updated;
  }

  private dropSlotsFrom(inodeId: number, from: number): void {
    for (const slot of this.tables.getSlots(inodeId, from, Number.MAX_SAFE_INTEGER)) {
      this.tables.deleteSlot(inodeId, slot.index);
      if (!isInlineSlot(slot)) this.dropChunk(slot.chunkId);
    }
  }

  /** Forgets a chunk no slot points at any more; garbage collection removes its copies. */
  private dropChunk(chunkId: string): void {
    this.tables.deleteChunkRef(chunkId);
    this.tables.putCounter("chunkCount", (this.tables.getCounter("chunkCount") ?? 1) - 1);
  }

  private commitChunk(c: CommitChunkCommand): Inode {
    const where = `inode ${c.inodeId}`;
    const inode = this.tables.getInode(c.inodeId);
    if (!inode) reject("ENOENT", where);
    requireRegular(inode, where);
    if (!mayAccess(inode, this.caller, W_OK)) reject("EACCES", where);
    if (c.length > this.chunkSize(where)) reject("EINVAL", where);
    const [current] = this.tables.getSlots(inode.id, c.slotIndex, c.slotIndex + 1);
    // The condition that serializes concurrent writers of one slot (ARCHITECTURE §2, step 3).
    if ((current?.version ?? 0) !== c.expectedVersion) reject("VERSION_CONFLICT", where);
    if (current && !isInlineSlot(current)) this.dropChunk(current.chunkId);
    this.tables.putCounter("chunkCount", (this.tables.getCounter("chunkCount") ?? 0) + 1);
    this.tables.putSlot(inode.id, {
      index: c.slotIndex,
      chunkId: c.chunkId,
      length: c.length,
      checksum: c.checksum,
      replicas: c.replicas,
      version: c.expectedVersion + 1,
      inlineData: undefined,
    });
    this.tables.putChunkRef(c.chunkId, inode.id);
    const updated: Inode = {
      ...inode,
      size: Math.max(inode.size, c.minFileSize),
      mtimeMs: c.nowMs,
      ctimeMs: c.nowMs,
    };
    this.tables.putInode(updated);
    return updated;
  }

  /**
   * A small write into an inline slot (a hole becomes one): the slot's bytes with `data` laid
   * over them at `offset`, zeros between. NOT_INLINE when the slot holds a chunk or would outgrow
   * MAX_INLINE_SLOT_BYTES: the writer writes a chunk instead.
   */
  private writeInline(c: WriteInlineCommand): Inode {
    const where = `inode ${c.inodeId}`;
    const inode = this.tables.getInode(c.inodeId);
    if (!inode) reject("ENOENT", where);
    requireRegular(inode, where);
    if (!mayAccess(inode, this.caller, W_OK)) reject("EACCES", where);
    const end = c.offset + c.data.length;
    const chunkSize = this.chunkSize(where);
    if (c.data.length === 0 || end > chunkSize) reject("EINVAL", where);
    const [current] = this.tables.getSlots(inode.id, c.slotIndex, c.slotIndex + 1);
    if (!inlineWriteFits(current, end)) reject("NOT_INLINE", where);
    const length = Math.max(current?.length ?? 0, end);
    const bytes = Buffer.alloc(length);
    current?.inlineData?.copy(bytes, 0, 0, current.length);
    bytes.set(c.data, c.offset);
    this.tables.putSlot(inode.id, {
      index: c.slotIndex,
      chunkId: "",
      length,
      checksum: crc32c(bytes),
      replicas: [],
      version: (current?.version ?? 0) + 1,
      inlineData: bytes,
    });
    const updated: Inode = {
      ...inode,
      size: Math.max(inode.size, c.slotIndex * chunkSize + end),
      mtimeMs: c.nowMs,
      ctimeMs: c.nowMs,
    };
    this.tables.putInode(updated);
    return updated;
  }

  /**
   * Decides the cluster's settings, once: root only (EPERM), EINVAL for values out of their
   * limits, EEXIST when they were decided already (the first bootstrap to commit wins).
   */
  private configureCluster(c: ConfigureClusterCommand): void {
    if (this.caller !== undefined) reject("EPERM", "cluster settings");
    const settings = {
      chunkSize: c.chunkSize,
      replicationFactor: c.replicationFactor,
      writeQuorum: c.writeQuorum,
    };
    if (settingsProblem(settings) !== undefined) reject("EINVAL", "cluster settings");
    if (this.settings() !== undefined) reject("EEXIST", "cluster settings");
    this.tables.putCounter("chunkSize", settings.chunkSize);
    this.tables.putCounter("replicationFactor", settings.replicationFactor);
    this.tables.putCounter("writeQuorum", settings.writeQuorum);
  }

  /**
   * Adds a user, or replaces one's credentials (`replace`). Root only (EPERM). Rejects EINVAL
   * for a malformed record, EEXIST for a taken name, uid or access key, ENOENT for a replace
   * of a user that does not exist, ENOSPC past MAX_USERS.
   */
  private putUser(c: PutUserCommand): void {
    if (!isRoot(this.caller)) reject("EPERM", "");
    const user = c.user;
    if (!user) reject("EINVAL", "");
    const where = `user ${user.name}`;
    if (
      !USER_NAME_PATTERN.test(user.name) ||
      user.accessKeyId.length === 0 ||
      user.accessKeyId.length > 64 ||
      user.secretHash.length === 0 ||
      user.salt.length === 0 ||
      user.groups.length > MAX_USER_GROUPS
    )
      reject("EINVAL", where);
    const existing = this.tables.getUser(user.name);
    if (c.replace && !existing) reject("ENOENT", where);
    if (!c.replace && existing) reject("EEXIST", where);
    let count = 0;
    for (const other of this.tables.listUsers()) {
      count++;
      if (other.name === user.name) continue;
      if (other.uid === user.uid || other.accessKeyId === user.accessKeyId) reject("EEXIST", where);
    }
    if (!existing && count >= MAX_USERS) reject("ENOSPC", where);
    const stored = existing
      ? { ...existing, accessKeyId: user.accessKeyId, secretHash: user.secretHash, salt: user.salt }
      : user;
    this.tables.putUser(stored);
  }

  /**
   * Marks a data server draining or not: root only (EPERM); EINVAL for a malformed id, ENOSPC
   * past MAX_DRAINING. Marking twice, or clearing a server not marked, changes nothing.
   */
  private setDraining(nodeId: string, draining: boolean): void {
    if (!isRoot(this.caller)) reject("EPERM", "");
    const where = `data server ${nodeId}`;
    if (!NODE_ID_PATTERN.test(nodeId)) reject("EINVAL", where);
    const marked = this.tables.listDraining();
    if (!draining) {
      if (marked.includes(nodeId)) this.tables.deleteDraining(nodeId);
      return;
    }
    if (marked.includes(nodeId)) return;
    if (marked.length >= MAX_DRAINING) reject("ENOSPC", where);
    this.tables.putDraining(nodeId);
  }

  /**
   * Records where metadata group member `nodeId` listens, replacing what was recorded: root
   * only (EPERM); EINVAL for a malformed id or address, ENOSPC past MAX_MEMBER_ADDRESSES.
   */
  private setMemberAddress(nodeId: string, address: string): void {
    if (!isRoot(this.caller)) reject("EPERM", "");
    const where = `member ${nodeId}`;
    if (!NODE_ID_PATTERN.test(nodeId) || !isHostPort(address)) reject("EINVAL", where);
    const known = this.tables.getMemberAddress(nodeId) !== undefined;
    if (!known && this.tables.listMemberAddresses().length >= MAX_MEMBER_ADDRESSES)
      reject("ENOSPC", where);
    this.tables.putMemberAddress(nodeId, address);
  }

  private removeUser(name: string): void {
    if (!isRoot(this.caller)) reject("EPERM", "");
    if (!this.tables.getUser(name)) reject("ENOENT", `user ${name}`);
    this.tables.deleteUser(name);
  }

  /** Repair's commit: the slot keeps its chunk, with a new replica list; VERSION_CONFLICT if replaced. */
  private recordReplicas(c: RecordReplicasCommand): Inode {
    const where = `inode ${c.inodeId}`;
    const inode = this.tables.getInode(c.inodeId);
    if (!inode) reject("ENOENT", where);
    const [current] = this.tables.getSlots(inode.id, c.slotIndex, c.slotIndex + 1);
    if (!current || isInlineSlot(current) || current.chunkId !== c.chunkId)
      reject("VERSION_CONFLICT", where);
    if (c.replicas.length === 0) reject("EINVAL", where);
    this.tables.putSlot(inode.id, { ...current, replicas: c.replicas });
    return inode;
  }
}

/**
 * Refusals after which the writer goes on under the same session, so they are not
 * remembered as the session's answer: a chunk commit that lost its race (VERSION_CONFLICT:
 * the slot's version moved on, so no copy of it can ever succeed; the writer retries with a
 * new expected version), and an inline write the slot cannot take (NOT_INLINE: the writer
 * writes a chunk).
 */
function writerMovesOn(command: MetadataCommand, result: CommandResult): boolean {
  const kind = command.command?.$case;
  return (
    (kind === "commitChunk" && result.errno === "VERSION_CONFLICT") ||
    (kind === "writeInline" && result.errno === "NOT_INLINE")
  );
}

/** Rejects an open or a write of anything but a regular file (`notRegularErrno`). */
function requireRegular(inode: Inode, where: string): void {
  const errno = notRegularErrno(inode.type);
  if (errno) reject(errno, where);
}

/**
 * `slot` cut to its first `length` bytes (truncate), as a new version: a writer that merged
 * the longer bytes must lose its race, or its commit would bring the cut bytes back.
 */
function shortened(slot: ChunkSlot, length: number): ChunkSlot {
  const version = slot.version + 1;
  if (!isInlineSlot(slot)) return { ...slot, length, version };
  const inlineData = slot.inlineData?.subarray(0, length);
  return { ...slot, length, version, inlineData, checksum: crc32c(inlineData ?? Buffer.alloc(0)) };
}

function newInode(
  id: number,
  type: FileType,
  mode: number,
  uid: number,
  gid: number,
  nowMs: number,
  parentId: number,
): Inode {
  return {
    id,
    type,
    mode: mode & 0o7777,
    uid,
    gid,
    size: 0,
    atimeMs: nowMs,
    mtimeMs: nowMs,
    ctimeMs: nowMs,
    nlink: type === FileType.FILE_TYPE_DIRECTORY ? 2 : 1,
    parentId,
    symlinkTarget: "",
    rdev: 0,
    xattrs: {},
  };
}
