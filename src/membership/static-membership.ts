/**
 * The `static` Membership: a fixed list of nodes given at start. With a `probe`, it is also a
 * failure detector: each other member is probed every `intervalMs`, and one that has not
 * answered for `suspectAfterMs` is not live (placement then leaves it out). Members start live.
 */
import type { Membership, NodeInfo } from "./membership.ts";

export interface LivenessOptions {
  /** Resolves true when the member answered; must settle within its own deadline. */
  readonly probe: (node: NodeInfo) => Promise<boolean>;
  /** Time between probes. Default 1,000 ms. */
  readonly intervalMs?: number;
  /** Silence after which a member is not live. Default 3,000 ms. */
  readonly suspectAfterMs?: number;
  readonly now?: () => number;
}

export class StaticMembership implements Membership {
  private readonly nodes: NodeInfo[];
  private readonly lastHeard = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  /** `nodes` must contain `selfId`; ids must be unique. Throws RangeError otherwise. */
  constructor(
    private readonly selfId: string,
    nodes: readonly NodeInfo[],
    private readonly liveness?: LivenessOptions,
  ) {
    const ids = new Set(nodes.map((node) => node.id));
    if (ids.size !== nodes.length) throw new RangeError("node ids must be unique");
    if (!ids.has(selfId)) throw new RangeError(`node ${selfId} is not in the member list`);
    this.nodes = [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const now = this.now();
    for (const node of this.nodes) this.lastHeard.set(node.id, now);
    if (liveness) {
      this.timer = setInterval(() => void this.probeAll(), liveness.intervalMs ?? 1000);
      this.timer.unref();
    }
  }

  private now(): number {
    return this.liveness?.now?.() ?? Date.now();
  }

  /** Probes every other member once (the timer does this on its own; tests call it). */
  async probeAll(): Promise<void> {
    const probe = this.liveness?.probe;
    if (!probe) return;
    await Promise.all(
      this.nodes
        .filter((node) => node.id !== this.selfId)
        .map(async (node) => {
          if (await probe(node).catch(() => false)) this.lastHeard.set(node.id, this.now());
        }),
    );
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
    const cutoff = this.now() - (this.liveness?.suspectAfterMs ?? 3000);
    return this.nodes.filter(
      (node) =>
        node.id === this.selfId || !this.liveness || (this.lastHeard.get(node.id) ?? 0) >= cutoff,
    );
  }
  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}
