/**
 * The `lmdb` MetadataStore: the namespace in an LMDB environment under one directory.
 *
 * Keys use lmdb-js's ordered encoding, so `[parentId, name]` keys list a directory in name
 * order and `[inodeId, slotIndex]` keys list a chunk map in slot order. Values are the
 * protobuf encodings of the records in proto/sandstore/v1/metadata.proto.
 */
import { existsSync, unlinkSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Database, open, type RootDatabase } from "lmdb";
import { fsyncDirectory, fsyncDirectorySync } from "../common/fs.ts";
import {
  ChunkSlot,
  Inode,
  SessionRecord,
  type SessionResult,
  UserRecord,
} from "../gen/sandstore/v1/metadata.ts";
import { Namespace } from "./namespace.ts";
import type {
  CounterName,
  NamespaceRecord,
  NamespaceTables,
  SlotCursor,
} from "./namespace-tables.ts";

type Key = [number, string] | [number, number];

class LmdbTables implements NamespaceTables {
  constructor(
    private readonly root: RootDatabase,
    private readonly inodes: Database<Buffer, number>,
    private readonly entries: Database<number, Key>,
    private readonly slots: Database<Buffer, Key>,
    private readonly chunkRefs: Database<number, string>,
    private readonly counters: Database<number, string>,
    private readonly sessions: Database<Buffer, string>,
    private readonly sessionResults: Database<Buffer, [string, number]>,
    private readonly users: Database<Buffer, string>,
    private readonly draining: Database<number, string>,
    private readonly memberAddresses: Database<string, string>,
  ) {}

  getInode(id: number): Inode | undefined {
    const bytes = this.inodes.getBinary(id);
    return bytes ? Inode.decode(bytes) : undefined;
  }
  putInode(inode: Inode): void {
    this.inodes.putSync(inode.id, Buffer.from(Inode.encode(inode).finish()));
  }
  deleteInode(id: number): void {
    this.inodes.removeSync(id);
  }
  getChild(parentId: number, name: string): number | undefined {
    return this.entries.get([parentId, name]);
  }
  putChild(parentId: number, name: string, childId: number): void {
    this.entries.putSync([parentId, name], childId);
  }
  deleteChild(parentId: number, name: string): void {
    this.entries.removeSync([parentId, name]);
  }
  listChildren(parentId: number, afterName: string, limit: number) {
    const out: Array<{ name: string; id: number }> = [];
    const range = this.entries.getRange({ start: [parentId, afterName], end: [parentId + 1] });
    for (const { key, value } of range) {
      const name = key[1] as string;
      if (name === afterName) continue;
      out.push({ name, id: value });
      if (out.length >= limit) break;
    }
    return out;
  }
  getSlots(inodeId: number, from: number, end: number): ChunkSlot[] {
    const out: ChunkSlot[] = [];
    for (const { value } of this.slots.getRange({ start: [inodeId, from], end: [inodeId, end] })) {
      out.push(ChunkSlot.decode(value));
    }
    return out;
  }
  putSlot(inodeId: number, slot: ChunkSlot): void {
    this.slots.putSync([inodeId, slot.index], Buffer.from(ChunkSlot.encode(slot).finish()));
  }
  deleteSlot(inodeId: number, index: number): void {
    this.slots.removeSync([inodeId, index]);
  }
  scanSlots(after: SlotCursor | undefined, limit: number) {
    const out: Array<{ inodeId: number; slot: ChunkSlot }> = [];
    const start: Key = after ? [after.inodeId, after.index] : [0, 0];
    for (const { key, value } of this.slots.getRange({ start })) {
      if (after && key[0] === after.inodeId && key[1] === after.index) continue;
      out.push({ inodeId: key[0] as number, slot: ChunkSlot.decode(value) });
      if (out.length >= limit) break;
    }
    return out;
  }
  hasChunkRef(chunkId: string): boolean {
    return this.chunkRefs.doesExist(chunkId);
  }
  getChunkRef(chunkId: string): number | undefined {
    return this.chunkRefs.get(chunkId);
  }
  putChunkRef(chunkId: string, inodeId: number): void {
    this.chunkRefs.putSync(chunkId, inodeId);
  }
  deleteChunkRef(chunkId: string): void {
    this.chunkRefs.removeSync(chunkId);
  }
  getSession(clientId: string): SessionRecord | undefined {
    const bytes = this.sessions.getBinary(clientId);
    return bytes ? SessionRecord.decode(bytes) : undefined;
  }
  putSession(session: SessionRecord): void {
    this.sessions.putSync(session.clientId, Buffer.from(SessionRecord.encode(session).finish()));
  }
  deleteSession(clientId: string): void {
    this.sessions.removeSync(clientId);
  }
  *listSessions(): Iterable<SessionRecord> {
    for (const { value } of this.sessions.getRange()) yield SessionRecord.decode(value);
  }
  getUser(name: string): UserRecord | undefined {
    const bytes = this.users.getBinary(name);
    return bytes ? UserRecord.decode(bytes) : undefined;
  }
  putUser(user: UserRecord): void {
    this.users.putSync(user.name, Buffer.from(UserRecord.encode(user).finish()));
  }
  deleteUser(name: string): void {
    this.users.removeSync(name);
  }
  *listUsers(): Iterable<UserRecord> {
    for (const { value } of this.users.getRange()) yield UserRecord.decode(value);
  }
  getSessionResult(clientId: string, sequence: number): Uint8Array | undefined {
    return this.sessionResults.getBinary([clientId, sequence]);
  }
  putSessionResult(result: SessionResult): void {
    this.sessionResults.putSync([result.clientId, result.sequence], result.result);
  }
  deleteSessionResults(clientId: string, below: number, limit?: number): number {
    const keys = [
      ...this.sessionResults.getKeys({ start: [clientId, 0], end: [clientId, below], limit }),
    ];
    for (const key of keys) this.sessionResults.removeSync(key);
    return keys.length;
  }
  getCounter(name: CounterName): number | undefined {
    return this.counters.get(name);
  }
  listDraining(): string[] {
    return [...this.draining.getKeys()];
  }
  putDraining(nodeId: string): void {
    this.draining.putSync(nodeId, 1);
  }
  deleteDraining(nodeId: string): void {
    this.draining.removeSync(nodeId);
  }
  listMemberAddresses(): Array<{ nodeId: string; address: string }> {
    return [...this.memberAddresses.getRange()].map(({ key, value }) => ({
      nodeId: key,
      address: value,
    }));
  }
  getMemberAddress(nodeId: string): string | undefined {
    return this.memberAddresses.get(nodeId);
  }
  putMemberAddress(nodeId: string, address: string): void {
    this.memberAddresses.putSync(nodeId, address);
  }
  putCounter(name: CounterName, value: number): void {
    this.counters.putSync(name, value);
  }
  *dump(): Iterable<NamespaceRecord> {
    for (const { value } of this.inodes.getRange())
      yield { table: "inode", inode: Inode.decode(value) };
    for (const { key, value } of this.entries.getRange()) {
      yield { table: "child", parentId: key[0] as number, name: key[1] as string, id: value };
    }
    for (const { key, value } of this.slots.getRange())
      yield { table: "slot", inodeId: key[0] as number, slot: ChunkSlot.decode(value) };
    for (const { key, value } of this.chunkRefs.getRange())
      yield { table: "chunkRef", chunkId: key, inodeId: value };
    for (const { key, value } of this.counters.getRange())
      yield { table: "counter", name: key as CounterName, value };
    for (const session of this.listSessions()) yield { table: "session", session };
    for (const { key, value } of this.sessionResults.getRange())
      yield {
        table: "sessionResult",
        result: { clientId: key[0], sequence: key[1], result: value },
      };
    for (const user of this.listUsers()) yield { table: "user", user };
    for (const nodeId of this.listDraining()) yield { table: "draining", nodeId };
    for (const member of this.listMemberAddresses()) yield { table: "memberAddress", ...member };
  }
  clear(): void {
    for (const key of [...this.inodes.getKeys()]) this.inodes.removeSync(key);
    for (const key of [...this.entries.getKeys()]) this.entries.removeSync(key);
    for (const key of [...this.slots.getKeys()]) this.slots.removeSync(key);
    for (const key of [...this.chunkRefs.getKeys()]) this.chunkRefs.removeSync(key);
    for (const key of [...this.counters.getKeys()]) this.counters.removeSync(key);
    for (const key of [...this.sessions.getKeys()]) this.sessions.removeSync(key);
    for (const key of [...this.sessionResults.getKeys()]) this.sessionResults.removeSync(key);
    for (const key of [...this.users.getKeys()]) this.users.removeSync(key);
    for (const key of [...this.draining.getKeys()]) this.draining.removeSync(key);
    for (const key of [...this.memberAddresses.getKeys()]) this.memberAddresses.removeSync(key);
  }
  transaction<T>(fn: () => T): T {
    return this.root.transactionSync(fn);
  }
}

/** Options of `LmdbMetadataStore`. */
export interface LmdbMetadataStoreOptions {
  /** Directory of the LMDB environment; created when missing. Owned by the store. */
  readonly path: string;
  /** Largest size the map may grow to, in bytes. Default 64 GiB (address space, not disk). */
  readonly mapSize?: number;
  /**
   * When a committed transaction is on disk.
   * - `"each-commit"` (the default): when the transaction returns.
   * - `"clean-close"`: when `flush` or `close` returns. Commits skip the fsync that would block
   *   the event loop (LMDB's noSync). The store trusts its files only after a clean close: opened
   *   after a crash of the process or the machine, whose pages may then be torn, it discards
   *   them and starts empty. Only an owner that can rebuild the store may choose this; the Raft
   *   replicator can (a store behind the newest snapshot is restored from it, and the log
   *   replays the entries after it).
   */
  readonly durability?: "each-commit" | "clean-close";
}

/** Present in the store's directory only between a clean close and the next open. */
const CLEAN_CLOSE_MARKER = "closed-cleanly";

/** The namespace in LMDB. One process may open a given path at a time. */
export class LmdbMetadataStore extends Namespace {
  protected readonly tables: NamespaceTables;
  private readonly root: RootDatabase;

  private readonly syncsOnClose: boolean;
  /** True when this open found files left by a crash and started empty instead. */
  readonly discardedAfterCrash: boolean;

  constructor(private readonly options: LmdbMetadataStoreOptions) {
    super();
    this.syncsOnClose = options.durability === "clean-close";
    this.discardedAfterCrash = this.syncsOnClose && discardUnlessClosedCleanly(options.path);
    this.root = open({
      path: options.path,
      maxDbs: 11,
      mapSize: options.mapSize ?? 64 * 1024 ** 3,
      compression: false,
      noSync: this.syncsOnClose,
    });
    const binary = { encoding: "binary", compression: false } as const;
    this.tables = new LmdbTables(
      this.root,
      this.root.openDB<Buffer, number>({ name: "inodes", ...binary }),
      this.root.openDB<number, Key>({ name: "entries", encoding: "ordered-binary" }),
      this.root.openDB<Buffer, Key>({ name: "slots", ...binary }),
      this.root.openDB<number, string>({ name: "chunk-refs", encoding: "ordered-binary" }),
      this.root.openDB<number, string>({ name: "counters", encoding: "ordered-binary" }),
      this.root.openDB<Buffer, string>({ name: "sessions", ...binary }),
      this.root.openDB<Buffer, [string, number]>({
        name: "session-results",
        keyEncoding: "ordered-binary",
        ...binary,
      }),
      this.root.openDB<Buffer, string>({ name: "users", ...binary }),
      this.root.openDB<number, string>({ name: "draining", encoding: "ordered-binary" }),
      this.root.openDB<string, string>({ name: "member-addresses", encoding: "string" }),
    );
    this.initialize();
  }

  async flush(): Promise<number> {
    const applied = this.appliedIndex();
    if (this.syncsOnClose) await this.syncToDisk();
    else await this.root.flushed;
    return applied;
  }

  async close(): Promise<void> {
    if (this.syncsOnClose) await this.syncToDisk();
    await this.root.close();
    if (this.syncsOnClose) {
      await writeFile(join(this.options.path, CLEAN_CLOSE_MARKER), "");
      await fsyncDirectory(this.options.path);
    }
  }

  /** Forces every commit to disk (LMDB's mdb_env_sync with force, even under noSync). */
  private syncToDisk(): Promise<void> {
    // lmdb-js has `sync` at run time but not in its type declarations: checked here.
    const sync: unknown = Reflect.get(this.root, "sync");
    if (typeof sync !== "function")
      throw new Error("this lmdb-js has no sync(): clean-close durability cannot flush");
    return new Promise((resolve, reject) =>
      sync.call(this.root, (error?: Error) => (error ? reject(error) : resolve())),
    );
  }
}

/**
 * Prepares `path` for an open under `"clean-close"` durability: consumes the marker a clean
 * close left, or, when there is none, removes whatever LMDB files a crash left. Returns true
 * when it removed files. The marker is removed durably before the store writes anything, so
 * a crash from here on is never mistaken for a clean close.
 */
function discardUnlessClosedCleanly(path: string): boolean {
  const marker = join(path, CLEAN_CLOSE_MARKER);
  if (existsSync(marker)) {
    unlinkSync(marker);
    fsyncDirectorySync(path);
    return false;
  }
  const files = ["data.mdb", "lock.mdb"].filter((name) => existsSync(join(path, name)));
  for (const name of files) unlinkSync(join(path, name));
  if (files.length > 0) fsyncDirectorySync(path);
  return files.includes("data.mdb");
}
