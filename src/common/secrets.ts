/**
 * Comparing secrets without telling an attacker how much of a guess was right.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

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

/**
 * The key users' secrets are derived from on a cluster with a token: HMAC-SHA256 of a fixed
 * label under the token. A gateway holding the token (an operator's credential) can then
 * recompute any user's secret from its access key and salt, which the S3 gateway's signature
 * checks need (SigV4 signs with the secret itself; only its hash is stored). The token
 * already opens everything behind the trust boundary, so this gives its holder nothing new.
 */
export function userSecretKey(clusterToken: string): Buffer {
  return createHmac("sha256", clusterToken).update("sandstore user secret key v1").digest();
}

/**
 * A user's secret made from `key` (`userSecretKey`), its access key id and its salt: 256 bits
 * as base64url (43 characters), the form of a random one. A new salt (`user passwd`) gives
 * a new secret.
 */
export function deriveUserSecret(key: Buffer, accessKeyId: string, salt: Uint8Array): string {
  return createHmac("sha256", key)
    .update(accessKeyId, "utf8")
    .update(Buffer.from([0]))
    .update(salt)
    .digest("base64url");
}
