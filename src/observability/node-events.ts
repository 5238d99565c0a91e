/**
 * A node's recent events: elections it saw, chunk copies repaired, damaged copies a scrub
 * found, members coming and going. Kept in memory, newest MAX_NODE_EVENTS, for an operator
 * (or an assistant, through the MCP server's `events` tool) asking what just happened; the
 * log and the metrics are the durable record. Lost when the node restarts.
 */
import type { NodeEventKind } from "../common/cluster-reports.ts";
import { PeriodicTask } from "../common/periodic-task.ts";
import type { NodeEvent } from "../gen/sandstore/v1/file_service.ts";
import type { Member, Membership } from "../membership/membership.ts";
import type { RaftObserver } from "../raft/node.ts";

export type { NodeEvent };

/** Events a node keeps: enough for the last few failovers, bounded memory (a few KiB). */
export const MAX_NODE_EVENTS = 256;

/** The ring of a node's recent events; record from anywhere on the node, read with `recent`. */
export class NodeEvents {
  private readonly ring: NodeEvent[] = [];
  private sequence = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Adds an event; the oldest goes when the ring is full. */
  record(kind: NodeEventKind, message: string, detail: { subject?: string; term?: number } = {}) {
    this.sequence++;
    this.ring.push({
      sequence: this.sequence,
      timeMs: this.now(),
      kind,
      message,
      subject: detail.subject ?? "",
      term: detail.term ?? 0,
    });
    if (this.ring.length > MAX_NODE_EVENTS) this.ring.shift();
  }

  /** The kept events, oldest first (copies: the caller may keep them). */
  recent(): NodeEvent[] {
    return this.ring.map((event) => ({ ...event }));
  }
}

/** `observer`, also recording each leader this node sees as an `election` event. */
export function recordingElections(observer: RaftObserver, events: NodeEvents): RaftObserver {
  return {
    ...observer,
    onLeaderChange: (leader, term) => {
      observer.onLeaderChange?.(leader, term);
      events.record("election", `${leader} leads term ${term}`, { subject: leader, term });
    },
  };
}

/** How often membership is compared for changes: liveness itself changes on a scale of seconds. */
const MEMBERSHIP_CHECK_MS = 1000;

/**
 * A started task recording membership changes every MEMBERSHIP_CHECK_MS (`membershipWatcher`);
 * stop it with the node.
 */
export function watchMembership(
  events: NodeEvents,
  membership: Pick<Membership, "members" | "liveMembers">,
  configuration?: () => { voters: readonly string[]; learners: readonly string[] },
): PeriodicTask {
  const watcher = membershipWatcher(events, membership, configuration);
  const task = new PeriodicTask(async () => watcher.check(), MEMBERSHIP_CHECK_MS);
  task.start();
  return task;
}

/** Membership's view: members and which are live, and the Raft group's voters and learners. */
interface MembershipView {
  readonly live: ReadonlySet<string>;
  readonly members: ReadonlyMap<string, Member>;
  readonly configuration: string;
}

/**
 * Records membership changes as `membership` and `configuration` see them, each time
 * `check` is called (the wiring calls it on a period): a member added or gone, live again
 * or no longer, and the Raft group's voters and learners changing. The first check only
 * takes the view. Membership here has no change notifications (etcd leases, data-server
 * reports and probes each decide liveness on their own clocks), so changes are found by
 * comparing views.
 */
export function membershipWatcher(
  events: NodeEvents,
  membership: Pick<Membership, "members" | "liveMembers">,
  configuration?: () => { voters: readonly string[]; learners: readonly string[] },
): { check(): void } {
  let last: MembershipView | undefined;
  const view = (): MembershipView => {
    const group = configuration?.();
    return {
      live: new Set(membership.liveMembers().map((member) => member.id)),
      members: new Map(membership.members().map((member) => [member.id, member])),
      configuration: group
        ? `voters ${[...group.voters].sort().join(",") || "none"}; learners ${[...group.learners].sort().join(",") || "none"}`
        : "",
    };
  };
  return {
    check() {
      const next = view();
      const before = last;
      last = next;
      if (!before) return;
      for (const [id, member] of next.members) {
        if (!before.members.has(id))
          events.record("membership", `${id} joined at ${member.address}`, { subject: id });
        else if (next.live.has(id) && !before.live.has(id))
          events.record("membership", `${id} is live again`, { subject: id });
        else if (!next.live.has(id) && before.live.has(id))
          events.record("membership", `${id} is no longer live`, { subject: id });
      }
      for (const id of before.members.keys())
        if (!next.members.has(id))
          events.record("membership", `${id} left the membership`, { subject: id });
      if (next.configuration !== before.configuration && next.configuration !== "")
        events.record("membership", `the Raft group is now ${next.configuration}`);
    },
  };
}
