/**
 * The cluster a guided demo acts on, whichever way it was found: one the demo started on this
 * machine, whose processes it can kill and cut off itself, or a running one (`--cluster`),
 * where the operator does what only they can (stop a process on its host) and the demo
 * waits until it sees it done.
 */
import type { AdminNodeState } from "../transport/grpc-admin-service.ts";

/**
 * What a demo needs of a cluster: its members, their consensus state, and the faults of the
 * scenarios. Every fault resolves once it has happened as far as the cluster's answers show
 * (a stopped node no longer answers; a restarted one does), or fails with a deadline error.
 */
export interface DemoCluster {
  /** The Raft group's members, in the order the demo shows them. */
  readonly ids: readonly string[];
  /**
   * `demo` when the demo injects faults itself; `operator` when it asks the person running it
   * and watches for the result (a cluster it did not start).
   */
  readonly faultsBy: "demo" | "operator";
  /** Where the dashboard is, when a node serves HTTP. */
  readonly dashboard: string | undefined;
  /** Addresses for file clients: every member's. */
  clientAddresses(): readonly string[];
  /** The client address of member `id`. */
  clientAddress(id: string): string;
  /** Each member's consensus state, undefined for one that does not answer within 2 s. */
  states(): Promise<ReadonlyMap<string, AdminNodeState | undefined>>;
  /** Asks leader `from` to hand leadership to `to`: a planned election. False when refused. */
  transferLeadership(from: string, to: string): Promise<boolean>;
  /**
   * Node `id` (a member, or a data server of the disaggregated topology) stops at once, as a
   * crash (SIGKILL) does. A member no longer answers when this resolves.
   */
  crash(id: string): Promise<void>;
  /** Node `id` runs again on its data; a member answers when this resolves. */
  restart(id: string): Promise<void>;
  /** Member `id` can no longer exchange messages with the other members; clients reach it. */
  isolate(id: string): Promise<void>;
  /** Every cut ends. */
  heal(): Promise<void>;
  /** Stops what the demo started; closes its clients. */
  close(): Promise<void>;
}
