/**
 * The `reported` Membership, a metadata server's view in the disaggregated topology: the
 * metadata group is a fixed list, and data servers join by reporting (`report`), as HDFS
 * data nodes register with their heartbeats. A data server is live while its reports keep
 * coming; one silent for `suspectAfterMs` is not, and placement leaves it out. A data
 * server stays a member once it has reported, so repair can count how long it has been gone.
 * It also keeps each data server's last chunk inventory (its block report), for the leader's
 * repair and garbage collection to read instead of asking the server.
 */
import type { ChunkInfo } from "../chunks/chunk-store.ts";
import { NODE_ID_PATTERN } from "../common/node-id.ts";
import type { Member, MemberSpec, Membership, NodeInfo, NodeRole } from "./membership.ts";

/** What a data server tells of itself. */
export interface MemberReport {
  readonly id: string;
  readonly address: string;
  readonly freeBytes: number;
}

/**
 * Most data servers one metadata server keeps track of: bounds the member table against a
 * flood of made-up ids (reports come from nodes only, but a limit costs nothing).
 */
export const MAX_DATA_SERVERS = 1024;

export interface ReportedMembershipOptions {
  /** This metadata server; it must be among `metadataServers`. */
  readonly selfId: string;
  /** The metadata group, every member with the `metadata` role only. */
  readonly metadataServers: readonly NodeInfo[];
  /** Silence after which a data server is not live, ms. Default 3,000. */
  readonly suspectAfterMs?: number;
  readonly now?: () => number;
}

export class ReportedMembership implements Membership {
  private readonly metadata: MemberSpec[];
  private readonly data = new Map<string, { member: Member; lastHeardMs: number }>();
  private readonly inventories = new Map<string, { chunks: readonly ChunkInfo[]; atMs: number }>();
  private readonly now: () => number;

  /** Throws RangeError when `selfId` is not a metadata server or ids repeat. */
  constructor(private readonly o: ReportedMembershipOptions) {
    const ids = new Set(o.metadataServers.map((node) => node.id));
    if (ids.size !== o.metadataServers.length) throw new RangeError("node ids must be unique");
    if (!ids.has(o.selfId)) throw new RangeError(`node ${o.selfId} is not a metadata server`);
    this.metadata = o.metadataServers.map((node) => ({ ...node, roles: ["metadata"] }));
    this.now = o.now ?? Date.now;
  }

  /**
   * Records a data server's report. Throws RangeError for a malformed id, an id that is a
   * metadata server's, or a new data server past MAX_DATA_SERVERS.
   */
  report(report: MemberReport): void {
    if (!NODE_ID_PATTERN.test(report.id)) throw new RangeError(`bad data server id ${report.id}`);
    if (this.metadata.some((node) => node.id === report.id))
      throw new RangeError(`${report.id} is a metadata server, not a data server`);
    if (!this.data.has(report.id) && this.data.size >= MAX_DATA_SERVERS)
      throw new RangeError(`more than ${MAX_DATA_SERVERS} data servers`);
    const member: Member = {
      id: report.id,
      address: report.address,
      roles: ["data"],
      freeBytes: report.freeBytes,
    };
    this.data.set(report.id, { member, lastHeardMs: this.now() });
  }

  /**
   * Keeps data server `id`'s inventory, replacing the one before. Throws RangeError for a
   * server that has not reported (its heartbeat comes first).
   */
  recordInventory(id: string, chunks: readonly ChunkInfo[]): void {
    if (!this.data.has(id)) throw new RangeError(`${id} sent an inventory before its report`);
    this.inventories.set(id, { chunks, atMs: this.now() });
  }

  /**
   * Data server `id`'s inventory, when one came in the last `maxAgeMs`; undefined if not. The
   * list is the one kept: read it, do not change it.
   */
  inventoryOf(id: string, maxAgeMs: number): readonly ChunkInfo[] | undefined {
    const inventory = this.inventories.get(id);
    return inventory && inventory.atMs >= this.now() - maxAgeMs ? inventory.chunks : undefined;
  }

  /** The address data server `id` last reported, if it has. */
  addressOf(id: string): string | undefined {
    return this.data.get(id)?.member.address ?? this.metadata.find((n) => n.id === id)?.address;
  }

  self(): NodeInfo {
    const self = this.metadata.find((node) => node.id === this.o.selfId);
    if (!self) throw new Error(`node ${this.o.selfId} left its own member list`);
    return { id: self.id, address: self.address };
  }

  members(role?: NodeRole): Member[] {
    const data = role === "metadata" ? [] : [...this.data.values()].map((entry) => entry.member);
    const metadata: Member[] =
      role === "data" ? [] : this.metadata.map((node) => ({ ...node, freeBytes: undefined }));
    return [...metadata, ...data].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  liveMembers(role?: NodeRole): Member[] {
    const cutoff = this.now() - (this.o.suspectAfterMs ?? 3000);
    // The metadata group's liveness is Raft's business; data servers are live by their reports.
    return this.members(role).filter(
      (member) =>
        !member.roles.includes("data") || (this.data.get(member.id)?.lastHeardMs ?? 0) >= cutoff,
    );
  }

  /** Kept from the reports that come here: never stale. */
  isStale(): boolean {
    return false;
  }

  async close(): Promise<void> {}
}
