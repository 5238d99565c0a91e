/**
 * The `static` Membership: a list of members given at start, and the members that joined the
 * group since (`joined`, taken in at each round of probes). With a `probe`, it is also
 * a failure detector and a capacity report: each other member is probed every `intervalMs`,
 * and one that has not answered for `suspectAfterMs` is not live (placement then leaves it
 * out); an answer carries the free bytes of the member's disk. Members start live.
 */
import type { Member, MemberSpec, Membership, NodeInfo, NodeRole } from "./membership.ts";

/** What a member said when probed. */
export interface ProbeReport {
  /** Bytes free on its data disk, when it reports them. */
  readonly freeBytes?: number | undefined;
}

export interface LivenessOptions {
  /** Resolves with the member's report when it answered; must settle within its own deadline. */
  readonly probe: (node: NodeInfo) => Promise<ProbeReport>;
  /** Time between probes. Default 1,000 ms. */
  readonly intervalMs?: number;
  /** Silence after which a member is not live. Default 3,000 ms. */
  readonly suspectAfterMs?: number;
  readonly now?: () => number;
}

export interface StaticMembershipOptions {
  /** The failure detector; without one every member is always live. */
  readonly liveness?: LivenessOptions;
  /**
   * This node's own report (its free bytes), taken with each round of probes: listing the
   * members, which placement does on every write, then costs no system call.
   */
  readonly selfReport?: () => ProbeReport;
  /**
   * Members that joined since start (added to the group with their addresses recorded in the
   * metadata): asked at each round of probes, and added to the list, live, from then on.
   * Malformed or repeated ones are passed over.
   */
  readonly joined?: () => readonly MemberSpec[];
}

export class StaticMembership implements Membership {
  private nodes: MemberSpec[];
  private readonly lastHeard = new Map<string, number>();
  private readonly freeBytes = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly liveness: LivenessOptions | undefined;

  /**
   * `nodes` must contain `selfId`; ids must be unique and every member needs a role. Throws
   * RangeError otherwise.
   */
  constructor(
    private readonly selfId: string,
    nodes: readonly MemberSpec[],
    private readonly options: StaticMembershipOptions = {},
  ) {
    const ids = new Set(nodes.map((node) => node.id));
    if (ids.size !== nodes.length) throw new RangeError("node ids must be unique");
    if (!ids.has(selfId)) throw new RangeError(`node ${selfId} is not in the member list`);
    const roleless = nodes.find((node) => node.roles.length === 0);
    if (roleless) throw new RangeError(`node ${roleless.id} has no role`);
    this.nodes = [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.liveness = options.liveness;
    const now = this.now();
    for (const node of this.nodes) this.lastHeard.set(node.id, now);
    if (this.liveness) {
      this.timer = setInterval(() => void this.probeAll(), this.liveness.intervalMs ?? 1000);
      this.timer.unref();
    }
  }

  private now(): number {
    return this.liveness?.now?.() ?? Date.now();
  }

  /** Probes every other member once (the timer does this on its own; tests call it). */
  async probeAll(): Promise<void> {
    this.takeJoined();
    const probe = this.liveness?.probe;
    if (!probe) return;
    const own = this.options.selfReport?.().freeBytes;
    if (own !== undefined) this.freeBytes.set(this.selfId, own);
    await Promise.all(
      this.nodes
        .filter((node) => node.id !== this.selfId)
        .map(async (node) => {
          // A probe that fails is the silence the detector counts, not an error to report.
          const report = await probe(node).catch(() => undefined);
          if (!report) return;
          this.lastHeard.set(node.id, this.now());
          if (report.freeBytes !== undefined) this.freeBytes.set(node.id, report.freeBytes);
        }),
    );
  }

  /** Adds the members `joined` names that the list lacks, or whose address changed. */
  takeJoined(): void {
    for (const node of this.options.joined?.() ?? []) {
      if (node.roles.length === 0) continue;
      const known = this.nodes.find((member) => member.id === node.id);
      if (known && known.address === node.address) continue;
      if (known && node.id === this.selfId) continue;
      this.nodes = [...this.nodes.filter((member) => member.id !== node.id), node].sort((a, b) =>
        a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
      );
      if (!known) this.lastHeard.set(node.id, this.now());
    }
  }

  /** Records this node's real address once its server is bound (it may have asked for port 0). */
  setSelfAddress(address: string): void {
    this.nodes = this.nodes.map((node) => (node.id === this.selfId ? { ...node, address } : node));
  }

  self(): NodeInfo {
    const self = this.nodes.find((node) => node.id === this.selfId);
    if (!self) throw new Error(`node ${this.selfId} left its own member list`);
    return { id: self.id, address: self.address };
  }

  members(role?: NodeRole): Member[] {
    return this.nodes.filter((node) => serves(node, role)).map((node) => this.member(node));
  }

  liveMembers(role?: NodeRole): Member[] {
    const cutoff = this.now() - (this.liveness?.suspectAfterMs ?? 3000);
    return this.members(role).filter(
      (node) =>
        node.id === this.selfId || !this.liveness || (this.lastHeard.get(node.id) ?? 0) >= cutoff,
    );
  }

  /** A fixed list, and liveness this node probes itself: never stale. */
  isStale(): boolean {
    return false;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }

  private member(node: MemberSpec): Member {
    return { ...node, freeBytes: this.freeBytes.get(node.id) };
  }
}

function serves(node: MemberSpec, role: NodeRole | undefined): boolean {
  return role === undefined || node.roles.includes(role);
}
