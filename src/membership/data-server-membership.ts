/**
 * A disaggregated data server's view of its cluster: itself, and the metadata servers that
 * answer its reports, by the ids they answer with. A data server places nothing and repairs
 * nothing, so this view is for its status alone: a client that reaches a data server first
 * learns from it where the metadata servers are, and moves its bytes as the topology says.
 */
import type { Member, Membership, NodeInfo, NodeRole } from "./membership.ts";

export interface DataServerMembershipOptions {
  /** This data server. */
  readonly self: NodeInfo;
  /** The metadata servers heard from lately (`DataServerReporter.metadataServersHeard`). */
  readonly metadataServers: () => readonly NodeInfo[];
}

export class DataServerMembership implements Membership {
  constructor(private readonly o: DataServerMembershipOptions) {}

  self(): NodeInfo {
    return this.o.self;
  }

  /** This server and the metadata servers heard from, in id order; the latter are live. */
  members(role?: NodeRole): Member[] {
    const self: Member = { ...this.o.self, roles: ["data"], freeBytes: undefined };
    const metadata: Member[] = this.o
      .metadataServers()
      .filter((node) => node.id !== this.o.self.id)
      .map((node) => ({ ...node, roles: ["metadata"], freeBytes: undefined }));
    return [self, ...metadata]
      .filter((member) => role === undefined || member.roles.includes(role))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  liveMembers(role?: NodeRole): Member[] {
    return this.members(role);
  }

  /** Kept by this server from its own reports: never stale. */
  isStale(): boolean {
    return false;
  }

  async close(): Promise<void> {}
}
