/**
 * The `memory` MetadataStore: the namespace in maps, for tests and simulation. Nothing
 * survives the process; `flush` is immediate.
 */
import type {
  ChunkSlot,
  Inode,
  SessionRecord,
  SessionResult,
  UserRecord,
} from "../gen/sandstore/v1/metadata.ts";
import { Namespace } from "./namespace.ts";
import type {
  CounterName,
  NamespaceRecord,
  NamespaceTables,
  SlotCursor,
} from "./namespace-tables.ts";

const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Maps with an undo log, so that a transaction that throws leaves nothing behind. */
class MemoryTables implements NamespaceTables {
  private readonly inodes = new Map<number, Inode>();
  private readonly children = new Map<number, Map<string, number>>();
  private readonly slots = new Map<number, Map<number, ChunkSlot>>();
  private readonly chunkRefs = new Map<string, number>();
  private readonly counters = new Map<CounterName, number>();
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly sessionResults = new Map<string, Map<number, SessionResult>>();
  private readonly users = new Map<string, UserRecord>();
  private readonly draining = new Map<string, true>();
  private readonly memberAddresses = new Map<string, string>();
  private undo: Array<() => void> | undefined;

  private record<K, V>(map: Map<K, V>, key: K): void {
    if (!this.undo) return;
    const had = map.has(key);
    const old = map.get(key);
    this.undo.push(() => (had ? map.set(key, old as V) : map.delete(key)));
  }
  private set<K, V>(map: Map<K, V>, key: K, value: V): void {
    this.record(map, key);
    map.set(key, value);
  }
  private delete<K, V>(map: Map<K, V>, key: K): void {
    this.record(map, key);
    map.delete(key);
  }
  private inner<V>(outer: Map<number, Map<string | number, V>>, id: number) {
    let map = outer.get(id);
    if (!map) {
      map = new Map();
      outer.set(id, map);
    }
    return map;
  }

  getInode(id: number) {
    return this.inodes.get(id);
  }
  putInode(inode: Inode) {
    this.set(this.inodes, inode.id, inode);
  }
  deleteInode(id: number) {
    this.delete(this.inodes, id);
  }
  getChild(parentId: number, name: string) {
    return this.children.get(parentId)?.get(name);
  }
  putChild(parentId: number, name: string, childId: number) {
    this.set(this.inner(this.children, parentId) as Map<string, number>, name, childId);
  }
  deleteChild(parentId: number, name: string) {
    const map = this.children.get(parentId);
    if (map) this.delete(map, name);
  }
  listChildren(parentId: number, afterName: string, limit: number) {
    const map = this.children.get(parentId);
    if (!map) return [];
    return [...map.keys()]
      .filter((name) => utf8Order(name, afterName) > 0)
      .sort(utf8Order)
      .slice(0, limit)
      .map((name) => ({ name, id: map.get(name)! }));
  }
  getSlots(inodeId: number, from: number, end: number) {
    const map = this.slots.get(inodeId);
    if (!map) return [];
    return [...map.values()]
      .filter((slot) => slot.index >= from && slot.index < end)
      .sort((a, b) => a.index - b.index);
  }
  putSlot(inodeId: number, slot: ChunkSlot) {
    this.set(this.inner(this.slots, inodeId) as Map<number, ChunkSlot>, slot.index, slot);
  }
  deleteSlot(inodeId: number, index: number) {
    const map = this.slots.get(inodeId);
    if (map) this.delete(map, index);
  }
  scanSlots(after: SlotCursor | undefined, limit: number) {
    const out: Array<{ inodeId: number; slot: ChunkSlot }> = [];
    const inodeIds = [...this.slots.keys()]
      .filter((id) => !after || id >= after.inodeId)
      .sort((a, b) => a - b);
    for (const inodeId of inodeIds) {
      for (const slot of this.getSlots(inodeId, 0, Number.MAX_SAFE_INTEGER)) {
        if (after && inodeId === after.inodeId && slot.index <= after.index) continue;
        out.push({ inodeId, slot });
        if (out.length >= limit) return out;
      }
    }
    return out;
  }
  hasChunkRef(chunkId: string) {
    return this.chunkRefs.has(chunkId);
  }
  getChunkRef(chunkId: string) {
    return this.chunkRefs.get(chunkId);
  }
  putChunkRef(chunkId: string, inodeId: number) {
    this.set(this.chunkRefs, chunkId, inodeId);
  }
  deleteChunkRef(chunkId: string) {
    this.delete(this.chunkRefs, chunkId);
  }
  getSession(clientId: string) {
    return this.sessions.get(clientId);
  }
  putSession(session: SessionRecord) {
    this.set(this.sessions, session.clientId, session);
  }
  deleteSession(clientId: string) {
    this.delete(this.sessions, clientId);
  }
  listSessions() {
    return [...this.sessions.values()];
  }
  getSessionResult(clientId: string, sequence: number) {
    return this.sessionResults.get(clientId)?.get(sequence)?.result;
  }
  putSessionResult(result: SessionResult) {
    let results = this.sessionResults.get(result.clientId);
    if (!results) {
      results = new Map();
      this.sessionResults.set(result.clientId, results);
    }
    this.set(results, result.sequence, result);
  }
  deleteSessionResults(clientId: string, below: number, limit = Number.MAX_SAFE_INTEGER) {
    const results = this.sessionResults.get(clientId);
    if (!results) return 0;
    const doomed = [...results.keys()]
      .filter((sequence) => sequence < below)
      .sort((a, b) => a - b)
      .slice(0, limit);
    for (const sequence of doomed) this.delete(results, sequence);
    return doomed.length;
  }
  getUser(name: string) {
    return this.users.get(name);
  }
  putUser(user: UserRecord) {
    this.set(this.users, user.name, user);
  }
  deleteUser(name: string) {
    this.delete(this.users, name);
  }
  listUsers() {
    return [...this.users.values()].sort((a, b) => utf8Order(a.name, b.name));
  }
  listDraining() {
    return [...this.draining.keys()].sort(utf8Order);
  }
  putDraining(nodeId: string) {
    this.set(this.draining, nodeId, true);
  }
  deleteDraining(nodeId: string) {
    this.delete(this.draining, nodeId);
  }
  listMemberAddresses() {
    return [...this.memberAddresses]
      .sort((a, b) => utf8Order(a[0], b[0]))
      .map(([nodeId, address]) => ({ nodeId, address }));
  }
  getMemberAddress(nodeId: string) {
    return this.memberAddresses.get(nodeId);
  }
  putMemberAddress(nodeId: string, address: string) {
    this.set(this.memberAddresses, nodeId, address);
  }
  getCounter(name: CounterName) {
    return this.counters.get(name);
  }
  putCounter(name: CounterName, value: number) {
    this.set(this.counters, name, value);
  }
  *dump(): Iterable<NamespaceRecord> {
    for (const inode of this.inodes.values()) yield { table: "inode", inode };
    for (const [parentId, children] of this.children) {
      for (const [name, id] of children) yield { table: "child", parentId, name, id };
    }
    for (const [inodeId, slots] of this.slots)
      for (const slot of slots.values()) yield { table: "slot", inodeId, slot };
    for (const [chunkId, inodeId] of this.chunkRefs) yield { table: "chunkRef", chunkId, inodeId };
    for (const [name, value] of this.counters) yield { table: "counter", name, value };
    for (const session of this.sessions.values()) yield { table: "session", session };
    for (const results of this.sessionResults.values())
      for (const result of results.values()) yield { table: "sessionResult", result };
    for (const user of this.listUsers()) yield { table: "user", user };
    for (const nodeId of this.listDraining()) yield { table: "draining", nodeId };
    for (const member of this.listMemberAddresses()) yield { table: "memberAddress", ...member };
  }
  clear() {
    for (const [id] of this.inodes) this.deleteInode(id);
    for (const [parentId, children] of this.children)
      for (const name of [...children.keys()]) this.deleteChild(parentId, name);
    for (const [inodeId, slots] of this.slots)
      for (const index of [...slots.keys()]) this.deleteSlot(inodeId, index);
    for (const chunkId of [...this.chunkRefs.keys()]) this.deleteChunkRef(chunkId);
    for (const name of [...this.counters.keys()]) this.delete(this.counters, name);
    for (const clientId of [...this.sessions.keys()]) this.deleteSession(clientId);
    for (const clientId of [...this.sessionResults.keys()])
      this.deleteSessionResults(clientId, Infinity);
    for (const name of [...this.users.keys()]) this.deleteUser(name);
    for (const nodeId of [...this.draining.keys()]) this.deleteDraining(nodeId);
    for (const nodeId of [...this.memberAddresses.keys()])
      this.delete(this.memberAddresses, nodeId);
  }
  transaction<T>(fn: () => T): T {
    if (this.undo) return fn();
    this.undo = [];
    try {
      const result = fn();
      this.undo = undefined;
      return result;
    } catch (error) {
      const steps = this.undo ?? [];
      this.undo = undefined;
      for (let i = steps.length - 1; i >= 0; i--) steps[i]!();
      throw error;
    }
  }
}

/** The namespace in memory. */
export class MemoryMetadataStore extends Namespace {
  protected readonly tables: NamespaceTables = new MemoryTables();

  constructor() {
    super();
    this.initialize();
  }

  async flush(): Promise<number> {
    return this.appliedIndex();
  }

  async close(): Promise<void> {}
}
