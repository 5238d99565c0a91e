/**
 * The SDK clients a gateway calls its node through, one per user: each carries its user's
 * access key and secret on every call, as the node's permission checks need. Clients are
 * kept for reuse (a client holds connections and a session) up to a bound, the least
 * recently used closed first.
 *
 * The pool holds secrets in memory only, never logs them, and compares them in constant time.
 */
import type { SandstoreClient } from "../../client/sandstore-client.ts";
import { secretsEqual } from "../../common/secrets.ts";
import type { ClientCredentials } from "../../transport/file-service-api.ts";

/** Users whose clients are kept at once: a gateway serving more opens a client per new one. */
export const MAX_POOLED_CLIENTS = 256;

/** A pooled client and the calls using it: one is closed only once no call uses it. */
interface Pooled {
  readonly secret: string;
  readonly client: SandstoreClient;
  users: number;
  retired: boolean;
}

export class ClientPool {
  /** By access key (empty: no credentials, auth off), least recently used first. */
  private readonly byKey = new Map<string, Pooled>();
  private readonly closing = new Set<Promise<void>>();
  /** Retired clients whose close failed. */
  closeFailuresTotal = 0;

  /** `connect` makes a client of the node calling with `credentials` (none: auth off). */
  constructor(private readonly connect: (credentials?: ClientCredentials) => SandstoreClient) {}

  /**
   * Runs `use` with the client for `credentials`, which the caller has authenticated
   * already, and resolves to what it resolves to. The client stays open until `use` settles,
   * even when the pool retires it meanwhile (a new secret, or more users than the bound).
   */
  async withClient<T>(
    credentials: ClientCredentials | undefined,
    use: (client: SandstoreClient) => Promise<T>,
  ): Promise<T> {
    const pooled = this.take(credentials);
    pooled.users++;
    try {
      return await use(pooled.client);
    } finally {
      pooled.users--;
      if (pooled.retired && pooled.users === 0) this.closeLater(pooled);
    }
  }

  private take(credentials: ClientCredentials | undefined): Pooled {
    const key = credentials?.accessKeyId ?? "";
    const secret = credentials?.secret ?? "";
    const kept = this.byKey.get(key);
    this.byKey.delete(key);
    if (kept && secretsEqual(secret, kept.secret)) {
      this.byKey.set(key, kept);
      return kept;
    }
    // A new user, or a new secret for the key (reset): the old client's secret no longer works.
    if (kept) this.retire(kept);
    const pooled: Pooled = { secret, client: this.connect(credentials), users: 0, retired: false };
    this.byKey.set(key, pooled);
    const oldest = this.byKey.entries().next();
    if (this.byKey.size > MAX_POOLED_CLIENTS && !oldest.done) {
      this.byKey.delete(oldest.value[0]);
      this.retire(oldest.value[1]);
    }
    return pooled;
  }

  private retire(pooled: Pooled): void {
    pooled.retired = true;
    if (pooled.users === 0) this.closeLater(pooled);
  }

  private closeLater(pooled: Pooled): void {
    // A client that fails to close has nothing left to serve: counted, not thrown at a caller.
    const closed = pooled.client
      .closeClient()
      .catch(() => {
        this.closeFailuresTotal++;
      })
      .finally(() => this.closing.delete(closed));
    this.closing.add(closed);
  }

  /** Closes every client; calls still using one fail as its connections close. */
  async close(): Promise<void> {
    for (const pooled of this.byKey.values()) this.closeLater(pooled);
    this.byKey.clear();
    await Promise.all(this.closing);
  }
}
