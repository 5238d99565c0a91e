/**
 * Moving the metadata group's leadership as an operator does (etcdctl move-leader): find the
 * leader among the members, ask it to hand over to a voter, and wait until a member reports
 * a new leader in a later term. The answer is what the members reported, not what was asked:
 * when another voter wins the election the transfer started, that voter is reported.
 */
import { fsError, SandstoreError, UnavailableError } from "../common/errors.ts";
import { leaderAmong } from "./admin-membership.ts";
import { AdminClient } from "./grpc-admin-service.ts";
import type { PeerAuth } from "./peer-auth.ts";

/** What a completed transfer found. */
export interface LeadershipTransfer {
  readonly previousLeader: string;
  readonly previousTerm: number;
  /** The voter the transfer was asked to hand over to. */
  readonly requested: string;
  /** Who leads now, as the members report it, and in which term. */
  readonly leader: string;
  readonly term: number;
  /** From the request to the new leader's report, ms. */
  readonly elapsedMs: number;
}

/** Moves leadership of a Raft group whose members answer AdminService. */
export interface LeadershipMover {
  /**
   * Hands leadership among the members at `addresses` (their internal, host:port) to voter
   * `to`, or to another voter when absent, and resolves once a member reports a new leader
   * (`LeadershipTransfer`). EINVAL when `to` is no voter or already leads, ENOTSUP for a
   * group of one voter, EACCES when the credentials are refused, UnavailableError ETIMEDOUT
   * when no new leader is reported within the deadline.
   */
  transfer(addresses: readonly string[], to?: string): Promise<LeadershipTransfer>;
}

/** Pause between looks at the members while a transfer goes on. */
const POLL_MS = 50;
/** How long a transfer may take: an election is a few hundred ms; a lagging target, longer. */
export const TRANSFER_TIMEOUT_MS = 10_000;

/** A LeadershipMover calling the members' AdminService with `auth` (an operator's or a node's). */
export function adminLeadershipMover(
  auth: PeerAuth,
  timeoutMs = TRANSFER_TIMEOUT_MS,
): LeadershipMover {
  return {
    async transfer(addresses, to) {
      const clients = addresses.map((address) => new AdminClient(address, auth));
      try {
        return await transferAmong(clients, to, timeoutMs);
      } finally {
        for (const client of clients) client.close();
      }
    },
  };
}

const pause = () => new Promise((done) => setTimeout(done, POLL_MS));

async function transferAmong(
  clients: readonly AdminClient[],
  to: string | undefined,
  timeoutMs: number,
): Promise<LeadershipTransfer> {
  const where = clients.map((client) => client.address).join(",");
  const started = Date.now();
  const deadline = started + timeoutMs;
  const find = leaderAmong(clients);
  let old = await find();
  while (!old) {
    // One member's own refusal is the answer: the credentials are wrong.
    const probe = await clients[0]?.nodeState().catch((error: unknown) => error);
    if (probe instanceof SandstoreError && probe.code === "EACCES") throw probe;
    if (Date.now() > deadline)
      throw new UnavailableError("ETIMEDOUT", where, `no member led within ${timeoutMs} ms`);
    await pause();
    old = await find();
  }
  const { id: previousLeader, term: previousTerm, voters } = old.state;
  const requested = to ?? voters.find((voter) => voter !== previousLeader);
  if (requested === undefined)
    throw fsError("ENOTSUP", "", `${previousLeader} is the group's only voter: nobody to hand to`);
  if (!voters.includes(requested))
    throw fsError("EINVAL", "", `${requested} is not a voter (voters: ${voters.join(", ")})`);
  if (requested === previousLeader)
    throw fsError("EINVAL", "", `${requested} already leads (term ${previousTerm})`);
  if (!(await old.client.transferLeadership(requested)))
    throw new UnavailableError(
      "EAGAIN",
      old.client.address,
      `${previousLeader} stopped leading before it could hand over: ask again`,
    );
  for (;;) {
    const now = await find();
    if (now && now.state.term > previousTerm)
      return {
        previousLeader,
        previousTerm,
        requested,
        leader: now.state.id,
        term: now.state.term,
        elapsedMs: Date.now() - started,
      };
    if (Date.now() > deadline)
      throw new UnavailableError(
        "ETIMEDOUT",
        where,
        `no new leader was reported within ${timeoutMs} ms of asking ${previousLeader} to hand over to ${requested}`,
      );
    await pause();
  }
}
