/**
 * Chunk capabilities: what lets a client reach a data server's chunks directly, as HDFS's
 * block tokens do. A metadata server signs one for one chunk and one operation when it hands
 * out a write intent or a read plan; a data server checks it before it touches the chunk. No
 * client reads or writes a chunk the metadata did not grant.
 *
 * A capability is text: `v1:<key id>:<operation>:<chunk id>:<expires at, ms>:<HMAC>`, the
 * HMAC-SHA256 of everything before it under the issuing key, base64url. Keys live in memory
 * only: each metadata server makes its own at start, and data servers learn it from the
 * answers to their reports (`DataServerReporter`), as HDFS data nodes learn block keys from
 * their heartbeats. A key id starts with its issuer's node id, so a data server knows whom
 * to ask for a key it has not seen.
 */
import { createHmac, randomBytes } from "node:crypto";
import { fsError } from "../common/errors.ts";
import { secretsEqual } from "../common/secrets.ts";

/** What a capability allows on its chunk. A write capability also lets its holder delete it. */
export type ChunkOperation = "read" | "write";

/** A signing key: its id (`<issuer>.<random hex>`) and its secret bytes. */
export interface CapabilityKey {
  readonly id: string;
  readonly secret: Buffer;
}

/** A capability and when it stops working, ms since the epoch. */
export interface ChunkGrant {
  readonly chunkId: string;
  readonly operation: ChunkOperation;
  readonly capability: string;
  readonly expiresAtMs: number;
}

/** Longest capability a server reads: longer text is not one. */
export const MAX_CAPABILITY_LENGTH = 512;
/** Bytes of a signing key: HMAC-SHA256's block-size-safe 256 bits. */
const KEY_BYTES = 32;
/** Chunk ids are 32 hex digits (`ReplicatedControlPlane.prepareWrite`). */
const CHUNK_ID = /^[0-9a-f]{32}$/;
/** Key ids: a node id (NODE_ID_PATTERN), a dot, 16 hex digits. */
const KEY_ID = /^[A-Za-z0-9_.-]{1,64}\.[0-9a-f]{16}$/;

function mac(secret: Buffer, signed: string): string {
  return createHmac("sha256", secret).update(signed).digest("base64url");
}

/** A new signing key for issuer `issuerId` (a node id). */
export function newCapabilityKey(issuerId: string): CapabilityKey {
  return { id: `${issuerId}.${randomBytes(8).toString("hex")}`, secret: randomBytes(KEY_BYTES) };
}

/** The issuer named in a key id, or undefined when `keyId` is not one. */
export function issuerOfKey(keyId: string): string | undefined {
  if (!KEY_ID.test(keyId)) return undefined;
  return keyId.slice(0, keyId.lastIndexOf("."));
}

/** Signs `operation` on `chunkId` under `key`, valid until `expiresAtMs`. */
export function signCapability(
  key: CapabilityKey,
  chunkId: string,
  operation: ChunkOperation,
  expiresAtMs: number,
): ChunkGrant {
  const signed = `v1:${key.id}:${operation}:${chunkId}:${expiresAtMs}`;
  return { chunkId, operation, expiresAtMs, capability: `${signed}:${mac(key.secret, signed)}` };
}

/** A capability's fields, before its signature is checked. */
export interface CapabilityClaims {
  readonly keyId: string;
  readonly operation: ChunkOperation;
  readonly chunkId: string;
  readonly expiresAtMs: number;
}

/**
 * The claims of `capability`, or undefined when it is not well formed (too long, a wrong
 * version, a malformed field). Says nothing of whether it is genuine: see `checkCapability`.
 */
export function parseCapability(capability: string): CapabilityClaims | undefined {
  if (capability.length > MAX_CAPABILITY_LENGTH) return undefined;
  const parts = capability.split(":");
  if (parts.length !== 6) return undefined;
  const [version, keyId = "", operation, chunkId = "", expires = ""] = parts;
  if (version !== "v1" || !KEY_ID.test(keyId) || !CHUNK_ID.test(chunkId)) return undefined;
  if (operation !== "read" && operation !== "write") return undefined;
  if (!/^[0-9]{1,16}$/.test(expires)) return undefined;
  return { keyId, operation, chunkId, expiresAtMs: Number(expires) };
}

/**
 * Checks that `capability` allows `operation` on `chunkId` now (`nowMs`), signed by `key`
 * (the key its claims name, which the caller looked up). Throws EACCES naming the chunk and
 * what was wrong; never quotes the signature. A write capability allows a read and a delete
 * of its chunk too: its holder wrote the bytes.
 */
export function checkCapability(
  capability: string,
  key: CapabilityKey,
  chunkId: string,
  operation: ChunkOperation,
  nowMs: number,
): void {
  const where = `chunk ${chunkId}`;
  const claims = parseCapability(capability);
  if (!claims) throw fsError("EACCES", where, "malformed chunk capability");
  if (claims.keyId !== key.id) throw fsError("EACCES", where, "capability of another key");
  const signed = capability.slice(0, capability.lastIndexOf(":"));
  const given = capability.slice(capability.lastIndexOf(":") + 1);
  if (!secretsEqual(given, mac(key.secret, signed)))
    throw fsError("EACCES", where, "chunk capability signature does not verify");
  if (claims.chunkId !== chunkId) throw fsError("EACCES", where, "capability for another chunk");
  if (claims.operation === "read" && operation === "write")
    throw fsError("EACCES", where, "a read capability does not allow a write");
  if (claims.expiresAtMs <= nowMs) throw fsError("EACCES", where, "chunk capability expired");
}
