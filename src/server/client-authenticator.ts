/**
 * Who a client is: turns the access key and secret a call carries into the user it proves to
 * be, for the permission checks every replica makes (`Caller`).
 *
 * - `off` (the local default): every client is root, whatever it carries.
 * - `required`: a call without credentials, with an unknown access key, or with a wrong secret
 *   is refused with EACCES. The refusal names no secret, and all three read alike, so a
 *   stranger learns nothing of which keys exist.
 *
 * Secrets are compared by hash in constant time, never logged. Failed attempts are limited
 * per source address: past the limit, a source's calls are refused without a look at their
 * credentials until its budget refills, so guessing costs time.
 */
import { fsError } from "../common/errors.ts";
import { hashSecret, secretsEqual } from "../common/secrets.ts";
import type { Caller, UserRecord } from "../gen/sandstore/v1/metadata.ts";
import type { CallInfo } from "../transport/file-service-api.ts";

/** How a node treats its clients. */
export type AuthMode = "off" | "required";
export const AUTH_MODES: readonly AuthMode[] = ["off", "required"];

/** Failed attempts one source may make in a burst, then this many per minute. */
export const FAILED_ATTEMPTS_BURST = 20;
export const FAILED_ATTEMPTS_PER_MINUTE = 30;
/** Sources whose failures are remembered at most; the oldest are forgotten first. */
export const MAX_TRACKED_SOURCES = 10_000;

export interface ClientAuthenticatorOptions {
  readonly mode: AuthMode;
  /** The user holding an access key, by this node's view of the metadata. */
  readonly userByAccessKey: (accessKeyId: string) => Promise<UserRecord | undefined>;
  /** The clock, ms; injectable for tests. */
  readonly now?: () => number;
}

/** What one source has left of its failed-attempt budget. */
interface Budget {
  tokens: number;
  updatedMs: number;
}

export class ClientAuthenticator {
  private readonly now: () => number;
  private readonly budgets = new Map<string, Budget>();
  /** Calls refused for bad or missing credentials, and refused unread for too many failures. */
  refusedTotal = 0;
  throttledTotal = 0;

  constructor(private readonly o: ClientAuthenticatorOptions) {
    this.now = o.now ?? Date.now;
  }

  get mode(): AuthMode {
    return this.o.mode;
  }

  /**
   * The caller `call` proves to be: undefined (root) with auth off; otherwise its user, or a
   * SandstoreError EACCES naming `path`.
   */
  async identify(call: CallInfo | undefined, path: string): Promise<Caller | undefined> {
    if (this.o.mode === "off") return undefined;
    const source = call?.source ?? "";
    if (this.exhausted(source)) {
      this.throttledTotal += 1;
      throw fsError("EACCES", path, "too many failed attempts from this address: wait a minute");
    }
    const credentials = call?.credentials;
    if (!credentials) return this.fail(source, path, "this cluster requires credentials");
    const user = await this.o.userByAccessKey(credentials.accessKeyId);
    // An unknown key is hashed and compared too, so that it takes as long as a wrong secret.
    const stored = user?.secretHash ?? Buffer.alloc(32);
    const given = hashSecret(user?.salt ?? Buffer.alloc(16), credentials.secret);
    if (!user || !secretsEqual(given, Buffer.from(stored)))
      return this.fail(source, path, "unknown access key or wrong secret");
    return { uid: user.uid, gid: user.gid, groups: [...user.groups] };
  }

  private fail(source: string, path: string, why: string): never {
    this.refusedTotal += 1;
    const budget = this.budgetOf(source);
    budget.tokens -= 1;
    throw fsError("EACCES", path, why);
  }

  private exhausted(source: string): boolean {
    const budget = this.budgets.get(source);
    if (!budget) return false;
    this.refill(budget);
    return budget.tokens < 1;
  }

  private refill(budget: Budget): void {
    const now = this.now();
    const earned = ((now - budget.updatedMs) / 60_000) * FAILED_ATTEMPTS_PER_MINUTE;
    budget.tokens = Math.min(FAILED_ATTEMPTS_BURST, budget.tokens + earned);
    budget.updatedMs = now;
  }

  private budgetOf(source: string): Budget {
    let budget = this.budgets.get(source);
    if (budget) {
      this.refill(budget);
      // Most recently failed last, so the map's first key is the one to forget.
      this.budgets.delete(source);
    } else {
      budget = { tokens: FAILED_ATTEMPTS_BURST, updatedMs: this.now() };
    }
    this.budgets.set(source, budget);
    if (this.budgets.size > MAX_TRACKED_SOURCES) {
      const oldest = this.budgets.keys().next().value;
      if (oldest !== undefined) this.budgets.delete(oldest);
    }
    return budget;
  }
}
