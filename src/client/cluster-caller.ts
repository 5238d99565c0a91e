/**
 * The cluster caller: the one place the SDK reaches the cluster. It keeps a connection per
 * node, follows the leader, retries through unavailability and elections within a deadline,
 * and numbers mutations in the client's session so that every retry is applied once.
 */
import { randomBytes } from "node:crypto";
import { NotLeaderError, SandstoreError, UnavailableError } from "../common/errors.ts";
import type { ClientSession } from "../gen/sandstore/v1/metadata.ts";
import type { ClientCredentials } from "../transport/file-service-api.ts";
import type { Connection, Transport } from "../transport/transport.ts";

/**
 * Time between tries while the cluster elects a leader, ms (with jitter): a fraction of an
 * election timeout (10 to 20 ticks of 50 ms), so a client learns the new leader soon after
 * it is elected, at a few small calls per second.
 */
const ELECTION_POLL_MS = 100;
/** Redirects followed for one call before giving up: bounds a redirect loop. */
const MAX_REDIRECTS = 5;
/**
 * Mutations in flight per client; more wait. Below the cluster's MAX_SESSION_RESULTS, so
 * every unanswered mutation's result is remembered for its retry.
 */
const MAX_MUTATIONS_IN_FLIGHT = 128;

export interface ClusterCallerOptions {
  /** Seed addresses `host:port`; any node will do. At least one. */
  readonly cluster: readonly string[];
  readonly transport: Transport;
  /** Deadline of one call in ms. Default 60,000. */
  readonly callTimeoutMs?: number;
  /** How long a call (read or mutation) keeps retrying an unavailable cluster, ms. Default 10,000. */
  readonly retryForMs?: number;
  /**
   * The user's access key and secret (`sandstore user add`), sent with every call. Needed by
   * a cluster with `--auth required`; without them the caller is refused with EACCES. A
   * cluster with `--auth off` treats every client as root.
   */
  readonly credentials?: ClientCredentials;
}

export class ClusterCaller {
  private readonly seeds: string[];
  private readonly connections = new Map<string, Connection>();
  private current: string;
  /** This client's session: a random id, and its mutations numbered from 1. */
  private readonly clientId = randomBytes(16).toString("hex");
  private nextSequence = 1;
  private readonly unanswered = new Set<number>();
  private readonly mutationSlotWaiters: Array<() => void> = [];

  /** Throws RangeError for an empty seed list. */
  constructor(private readonly options: ClusterCallerOptions) {
    const [first] = options.cluster;
    if (first === undefined) throw new RangeError("at least one cluster address is needed");
    this.seeds = [...options.cluster];
    this.current = first;
  }

  /** Runs a read (or any call that is safe to repeat) with the retries of `invoke`. */
  query<T>(call: (connection: Connection) => Promise<T>): Promise<T> {
    return this.invoke(call);
  }

  /**
   * Runs a mutation under the next sequence number of this client's session. Every retry
   * carries the same number, so the cluster applies it once however many attempts reach it.
   */
  async mutate<T>(
    call: (connection: Connection, session: ClientSession) => Promise<T>,
  ): Promise<T> {
    while (this.unanswered.size >= MAX_MUTATIONS_IN_FLIGHT) {
      await new Promise<void>((resolve) => this.mutationSlotWaiters.push(resolve));
    }
    const sequence = this.nextSequence++;
    this.unanswered.add(sequence);
    try {
      const session = {
        clientId: this.clientId,
        sequence,
        // The oldest mutation still waiting for its reply: everything below it was answered.
        acknowledgedBelow: Math.min(...this.unanswered),
      };
      return await this.invoke((connection) => call(connection, session));
    } finally {
      this.unanswered.delete(sequence);
      this.mutationSlotWaiters.shift()?.();
    }
  }

  private connection(address: string): Connection {
    let connection = this.connections.get(address);
    if (!connection) {
      connection = this.options.transport.connect(address, {
        callTimeoutMs: this.options.callTimeoutMs,
        credentials: this.options.credentials,
      });
      this.connections.set(address, connection);
    }
    return connection;
  }

  /**
   * Runs `call` against the current node. Follows NOT_LEADER hints and waits out elections.
   * An unavailable node (UnavailableError: unreachable, timed out, overloaded) sends the call
   * to the next seed; EAGAIN about a file is asked of the same node again. Retrying is safe
   * for reads, and for mutations because they carry their session (`mutate`). Gives up when
   * `retryForMs` passes, with the last error.
   */
  private async invoke<T>(call: (connection: Connection) => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.options.retryForMs ?? 10_000);
    let redirects = 0;
    // Failed attempts so far: the backoff grows with them, once per attempt.
    let failures = 0;
    for (;;) {
      try {
        return await call(this.connection(this.current));
      } catch (error) {
        if (error instanceof NotLeaderError && error.leaderAddress && redirects < MAX_REDIRECTS) {
          redirects++;
          this.current = error.leaderAddress;
          continue;
        }
        const noLeaderYet = error instanceof NotLeaderError && !error.leaderAddress;
        const unavailable = error instanceof UnavailableError;
        // EAGAIN about a file (a write short of W copies, too few live nodes, too many
        // writers of one chunk) committed nothing: the same node is asked again, and by then
        // its failure detector may have changed the placement.
        const tryAgain = error instanceof SandstoreError && error.code === "EAGAIN";
        if (!(noLeaderYet || unavailable || tryAgain) || Date.now() >= deadline) throw error;
        // An election under way: no leader known, or a leader hint that led to a node that
        // does not answer (the followers still name the dead leader). It ends within an
        // election timeout, so the call polls for its end instead of backing off further:
        // an exponential backoff here overshot the new leader by up to a second.
        const electing = noLeaderYet || (unavailable && redirects > 0);
        if (unavailable) this.current = this.nextSeed(this.current);
        if (!electing) failures++;
        // Backoff with jitter, capped, so a restarting cluster is not hammered.
        const base = electing ? ELECTION_POLL_MS : Math.min(1000, 50 * 2 ** Math.min(failures, 5));
        const delay = base * (0.5 + Math.random() / 2);
        await new Promise((resolve) => setTimeout(resolve, delay));
        redirects = 0;
      }
    }
  }

  /** The seed after `address` in the list, wrapping; the first one for a non-seed (a leader). */
  private nextSeed(address: string): string {
    const at = this.seeds.indexOf(address);
    return this.seeds[(at + 1) % this.seeds.length] ?? address;
  }

  /** Closes every connection. */
  close(): void {
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }
}
