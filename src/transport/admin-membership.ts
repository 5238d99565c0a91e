/**
 * Membership changes through AdminService as an operator makes them: find the leader among
 * the members, ask it for one step, and retry through elections and refusals (a change still
 * pending, a learner not caught up) until the step is applied or the deadline passes. Every
 * step is idempotent, so a retry after an unknown outcome is safe.
 */
import { SandstoreError } from "../common/errors.ts";
import type { AdminClient, AdminNodeState, MembershipChangeKind } from "./grpc-admin-service.ts";

/** Pause between attempts: an election or a learner's catching up takes a while. */
const RETRY_MS = 200;
/** Deadline of one state query while looking for the leader. */
const STATE_TIMEOUT_MS = 2000;

/** The member that says it leads now, with its state; undefined when none answers so. */
export type LeaderFinder = () => Promise<
  { client: AdminClient; state: AdminNodeState } | undefined
>;

/** A LeaderFinder that asks every one of `clients`. */
export function leaderAmong(clients: readonly AdminClient[]): LeaderFinder {
  return async () => {
    const states = await Promise.all(
      clients.map((client) => client.nodeState(STATE_TIMEOUT_MS).catch(() => undefined)),
    );
    const at = states.findIndex((state) => state?.role === "leader");
    return at < 0 ? undefined : { client: clients[at]!, state: states[at]! };
  };
}

/**
 * Applies one step to `nodeId` through the leader; throws naming the last error at the
 * deadline. `address`: where a node that is not a configured peer listens (add-learner).
 */
export async function changeMembership(
  findLeader: LeaderFinder,
  change: MembershipChangeKind,
  nodeId: string,
  timeoutMs: number,
  address?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = "no leader answered";
  while (Date.now() < deadline) {
    const leader = await findLeader();
    if (leader) {
      try {
        await leader.client.changeMembership({ change, nodeId, address });
        return;
      } catch (error) {
        // A bad node id or token stays bad: only elections and refusals are worth waiting out.
        if (error instanceof SandstoreError && (error.code === "EINVAL" || error.code === "EACCES"))
          throw error;
        last = error;
      }
    }
    await new Promise((done) => setTimeout(done, RETRY_MS));
  }
  throw new Error(`${change} ${nodeId} did not complete in ${timeoutMs} ms: ${String(last)}`);
}

/**
 * Makes `nodeId` a voter: added as a learner (at `address`, for a node that is not a
 * configured peer), promoted once it has caught up.
 */
export async function addVoter(
  findLeader: LeaderFinder,
  nodeId: string,
  timeoutMs: number,
  address?: string,
): Promise<void> {
  await changeMembership(findLeader, "add-learner", nodeId, timeoutMs, address);
  await changeMembership(findLeader, "promote", nodeId, timeoutMs);
}
