/**
 * Comparing secrets without telling an attacker how much of a guess was right.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * True when `given` equals `expected`, in time that depends on neither's contents nor on how
 * long a prefix they share: both are hashed to 32 bytes first, so even their lengths differ
 * only inside the hash.
 */
export function secretsEqual(given: string | Buffer, expected: string | Buffer): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The hash a user's secret is stored as: SHA-256(salt || secret). A fast hash is enough
 * because the cluster makes every secret from 256 random bits: there is no dictionary to try.
 */
export function hashSecret(salt: Uint8Array, secret: string): Buffer {
  return createHash("sha256").update(salt).update(secret, "utf8").digest();
}
