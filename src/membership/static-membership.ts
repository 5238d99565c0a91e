/**
 * The `static` Membership: a fixed list of nodes given at start. Every member counts as live
 * until a failure detector says otherwise; with one node that is exact.
 */
import type { Membership, NodeInfo } from "./membership.ts";

export class StaticMembership implements Membership {
  private readonly nodes: NodeInfo[];

  /** `nodes` must contain `selfId`; ids must be unique. Throws RangeError otherwise. */
  constructor(
    private readonly selfId: string,
    nodes: readonly NodeInfo[],
  ) {
    const ids = new Set(nodes.map((node) => node.id));
    if (ids.size !== nodes.length) throw new RangeError("node ids must be unique");
    if (!ids.has(selfId)) throw new RangeError(`node ${selfId} is not in the member list`);
    this.nodes = [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Records this node's real address once its server is bound (it may have asked for port 0). */
  setSelfAddress(address: string): void {
    const i = this.nodes.findIndex((node) => node.id === this.selfId);
    this.nodes[i] = { id: this.selfId, address };
  }

  self(): NodeInfo {
    return this.nodes.find((node) => node.id === this.selfId)!;
  }
  members(): NodeInfo[] {
    return [...this.nodes];
  }
  liveMembers(): NodeInfo[] {
    return [...this.nodes];
  }
  async close(): Promise<void> {}
}
