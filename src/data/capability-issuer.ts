/**
 * The metadata server's side of chunk capabilities: it signs them with its own key, and it
 * remembers each write it granted until the grant expires, so garbage collection leaves the
 * chunk alone while a client may still be writing it.
 *
 * Why that suffices across processes and failovers: a data server refuses a write whose
 * capability expired, and a commit is refused unless its capability is this server's and
 * live (`checkCommit`). A chunk whose grant this server no longer holds can therefore never
 * be written or committed again; if no slot names it, it is garbage. A new leader knows
 * nothing of the old one's grants, and needs not: the old grants cannot commit on it.
 */
import { fsError, UnavailableError } from "../common/errors.ts";
import {
  type CapabilityKey,
  type ChunkGrant,
  type ChunkOperation,
  checkCapability,
  newCapabilityKey,
  parseCapability,
  signCapability,
} from "./chunk-capability.ts";

/**
 * Most write grants held at once: bounds the table's memory (about 100 bytes each). Past it,
 * new write intents are refused as unavailable until grants expire or commit.
 */
export const MAX_WRITE_GRANTS = 100_000;

export interface CapabilityIssuerOptions {
  /** The issuing node's id: the prefix of its key's id. */
  readonly issuerId: string;
  /**
   * How long a capability works, ms: long enough to move a whole chunk (64 MiB at most) on a
   * slow link, and short of garbage collection's grace period.
   */
  readonly lifetimeMs: number;
  /** The clock, ms since the epoch; injected for tests. Default `Date.now`. */
  readonly now?: () => number;
}

export class CapabilityIssuer {
  /** This server's signing key, made at start and never written anywhere. */
  readonly key: CapabilityKey;
  private readonly now: () => number;
  /** Chunk id → expiry of the write granted for it, ms; Infinity while its commit runs. */
  private readonly writes = new Map<string, number>();

  constructor(private readonly o: CapabilityIssuerOptions) {
    this.key = newCapabilityKey(o.issuerId);
    this.now = o.now ?? Date.now;
  }

  /**
   * A capability for `operation` on `chunkId`. A write grant is remembered until it expires.
   * Throws UnavailableError (EAGAIN) when MAX_WRITE_GRANTS writes are already granted.
   */
  grant(chunkId: string, operation: ChunkOperation): ChunkGrant {
    const now = this.now();
    const expiresAtMs = now + this.o.lifetimeMs;
    if (operation === "write") {
      if (this.writes.size >= MAX_WRITE_GRANTS) this.forgetExpired(now);
      if (this.writes.size >= MAX_WRITE_GRANTS)
        throw new UnavailableError("EAGAIN", this.o.issuerId, "too many chunk writes in flight");
      this.writes.set(chunkId, expiresAtMs);
    }
    return signCapability(this.key, chunkId, operation, expiresAtMs);
  }

  /**
   * Runs `commit` if `capability` grants writing `chunkId` and has not expired. A grant of
   * this server's must verify and be live in its table; one of another metadata server's
   * (a follower answered the intent, or a failover came between) is taken by its claims,
   * since this server does not hold that key: garbage collection's grace period, longer than
   * a grant lives, keeps its chunk either way (see `checkGraceCoversGrants`). Throws EACCES
   * for a capability that is malformed, for another chunk or a read, or of this server's key
   * and not genuine; UnavailableError (EAGAIN) when it expired: the writer starts over under
   * its session, which is answered with the first commit's result if that one went through
   * after all. While `commit` runs the grant cannot expire; it is forgotten when `commit`
   * settles.
   */
  async commitGranted<T>(capability: string, chunkId: string, commit: () => Promise<T>) {
    const now = this.now();
    const where = `chunk ${chunkId}`;
    const claims = parseCapability(capability);
    if (!claims) throw fsError("EACCES", where, "malformed chunk capability");
    if (claims.chunkId !== chunkId || claims.operation !== "write")
      throw fsError("EACCES", where, "the capability is not one to write this chunk");
    const expired = () =>
      new UnavailableError(
        "EAGAIN",
        this.o.issuerId,
        `the grant to write chunk ${chunkId} expired`,
      );
    if (claims.keyId === this.key.id) {
      // Genuine first: a forged capability is refused, not told it expired.
      checkCapability(capability, this.key, chunkId, "write", 0);
      const expiry = this.writes.get(chunkId);
      if (expiry === undefined || expiry <= now) throw expired();
    } else if (claims.expiresAtMs <= now) throw expired();
    this.writes.set(chunkId, Number.POSITIVE_INFINITY);
    try {
      return await commit();
    } finally {
      this.writes.delete(chunkId);
    }
  }

  /** True while a write of `chunkId` granted here may still be written or committed. */
  isWriteInFlight(chunkId: string): boolean {
    const expiry = this.writes.get(chunkId);
    if (expiry === undefined) return false;
    if (expiry > this.now()) return true;
    this.writes.delete(chunkId);
    return false;
  }

  private forgetExpired(now: number): void {
    for (const [chunkId, expiry] of this.writes) if (expiry <= now) this.writes.delete(chunkId);
  }
}

/**
 * Throws RangeError unless garbage collection's grace period `graceMs` outlasts a grant of
 * `lifetimeMs`: a chunk whose grant another metadata server made is kept by the grace alone.
 */
export function checkGraceCoversGrants(graceMs: number, lifetimeMs: number): void {
  if (graceMs <= lifetimeMs)
    throw new RangeError(
      `the garbage collection grace period (${graceMs} ms) must be longer than a chunk capability lives (${lifetimeMs} ms)`,
    );
}
