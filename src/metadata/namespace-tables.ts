/**
 * The storage a namespace state machine needs, as tables of keys and values. The state
 * machine (`Namespace`) is written once against this; each `MetadataStore` implementation
 * only provides these tables.
 */
import type {
  ChunkSlot,
  Inode,
  SessionRecord,
  SessionResult,
  UserRecord,
} from "../gen/sandstore/v1/metadata.ts";

/** One stored record, of any table: the unit of a snapshot. */
export type NamespaceRecord =
  | { readonly table: "inode"; readonly inode: Inode }
  | {
      readonly table: "child";
      readonly parentId: number;
      readonly name: string;
      readonly id: number;
    }
  | { readonly table: "slot"; readonly inodeId: number; readonly slot: ChunkSlot }
  | { readonly table: "chunkRef"; readonly chunkId: string; readonly inodeId: number }
  | { readonly table: "counter"; readonly name: CounterName; readonly value: number }
  | { readonly table: "session"; readonly session: SessionRecord }
  | { readonly table: "sessionResult"; readonly result: SessionResult }
  | { readonly table: "user"; readonly user: UserRecord }
  | { readonly table: "draining"; readonly nodeId: string }
  | { readonly table: "memberAddress"; readonly nodeId: string; readonly address: string };

/** Named counters kept with the state. */
export type CounterName =
  | "applied"
  | "nextInode"
  | "chunkSize"
  | "replicationFactor"
  | "writeQuorum"
  | "inodeCount"
  | "chunkCount"
  | "sessionCount";

/** Where a scan over every file's chunk slots resumes: after this inode's slot. */
export interface SlotCursor {
  readonly inodeId: number;
  readonly index: number;
}

export interface NamespaceTables {
  getInode(id: number): Inode | undefined;
  putInode(inode: Inode): void;
  deleteInode(id: number): void;

  getChild(parentId: number, name: string): number | undefined;
  putChild(parentId: number, name: string, childId: number): void;
  deleteChild(parentId: number, name: string): void;
  /** Up to `limit` children whose names sort (by UTF-8 bytes) after `afterName`, in order. */
  listChildren(
    parentId: number,
    afterName: string,
    limit: number,
  ): Array<{ name: string; id: number }>;

  /** Slots with index in [from, end), in index order. */
  getSlots(inodeId: number, from: number, end: number): ChunkSlot[];
  putSlot(inodeId: number, slot: ChunkSlot): void;
  deleteSlot(inodeId: number, index: number): void;
  /** Up to `limit` slots of any file, in (inode, index) order, after `after` (or from the start). */
  scanSlots(
    after: SlotCursor | undefined,
    limit: number,
  ): Array<{ inodeId: number; slot: ChunkSlot }>;

  hasChunkRef(chunkId: string): boolean;
  /** The inode whose map points at the chunk, if any. */
  getChunkRef(chunkId: string): number | undefined;
  putChunkRef(chunkId: string, inodeId: number): void;
  deleteChunkRef(chunkId: string): void;

  getSession(clientId: string): SessionRecord | undefined;
  putSession(session: SessionRecord): void;
  deleteSession(clientId: string): void;
  /** Every session (eviction looks for the least recently active). */
  listSessions(): Iterable<SessionRecord>;
  /** The encoded result a client's mutation `sequence` had, if it is kept. */
  getSessionResult(clientId: string, sequence: number): Uint8Array | undefined;
  putSessionResult(result: SessionResult): void;
  /**
   * Deletes the client's results numbered below `below`, lowest first, at most `limit` of
   * them; returns how many it deleted.
   */
  deleteSessionResults(clientId: string, below: number, limit?: number): number;

  getUser(name: string): UserRecord | undefined;
  putUser(user: UserRecord): void;
  deleteUser(name: string): void;
  /** Every user, in name order. */
  listUsers(): Iterable<UserRecord>;

  /** Data servers marked draining, in id order (byte order of the UTF-8 ids). */
  listDraining(): string[];
  putDraining(nodeId: string): void;
  deleteDraining(nodeId: string): void;

  /** Addresses recorded for members of the metadata group, by id, in id order. */
  listMemberAddresses(): Array<{ nodeId: string; address: string }>;
  getMemberAddress(nodeId: string): string | undefined;
  putMemberAddress(nodeId: string, address: string): void;

  getCounter(name: CounterName): number | undefined;
  putCounter(name: CounterName, value: number): void;

  /** Every record of every table (for a snapshot); no writes may happen meanwhile. */
  dump(): Iterable<NamespaceRecord>;
  /** Removes every record of every table (a restore, inside a transaction). */
  clear(): void;

  /** Runs `fn` atomically: every write in it lands, durably, or none does. */
  transaction<T>(fn: () => T): T;
}
