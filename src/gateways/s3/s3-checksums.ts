/**
 * S3's flexible checksums (`x-amz-checksum-ALGORITHM`): CRC32, CRC32C, SHA-1 and SHA-256 of an
 * object's bytes, base64 of the big-endian digest. A client sends one as a header, or names it
 * in `x-amz-trailer` and sends it after an `aws-chunked` body (aws-chunked.ts); the gateway
 * computes the same over what it received and refuses the object when they differ.
 */
import { createHash, type Hash } from "node:crypto";
import { crc32, crc32c } from "@node-rs/crc32";
import { S3Error } from "./s3-errors.ts";

/** The algorithms S3 names, in the header's spelling. */
export const CHECKSUM_ALGORITHMS = ["crc32", "crc32c", "sha1", "sha256"] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** A running checksum of bytes in order. */
export interface Checksum {
  update(bytes: Buffer): void;
  /** The digest as S3 sends it: base64. Call once, after the last update. */
  digest(): string;
}

class CrcChecksum implements Checksum {
  private state = 0;
  constructor(private readonly step: (input: Uint8Array, initial: number) => number) {}
  update(bytes: Buffer) {
    this.state = this.step(bytes, this.state);
  }
  digest() {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.state >>> 0);
    return out.toString("base64");
  }
}

class HashChecksum implements Checksum {
  private readonly hash: Hash;
  constructor(algorithm: "sha1" | "sha256") {
    this.hash = createHash(algorithm);
  }
  update(bytes: Buffer) {
    this.hash.update(bytes);
  }
  digest() {
    return this.hash.digest("base64");
  }
}

/** A fresh running checksum for `algorithm`. */
export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case "crc32":
      return new CrcChecksum(crc32);
    case "crc32c":
      return new CrcChecksum(crc32c);
    case "sha1":
    case "sha256":
      return new HashChecksum(algorithm);
  }
}

/** The algorithm a header such as `x-amz-checksum-crc32` names; undefined for other names. */
export function checksumAlgorithmOf(headerName: string): ChecksumAlgorithm | undefined {
  const name = headerName.toLowerCase();
  return CHECKSUM_ALGORITHMS.find((a) => name === `x-amz-checksum-${a}`);
}

/**
 * The checksums a request asks to be checked: each `x-amz-checksum-*` header with its value,
 * and the one `x-amz-trailer` promises, whose value comes after the body (undefined here).
 * InvalidRequest for a trailer that names no checksum S3 knows, or more than one.
 */
export function requestedChecksums(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Map<ChecksumAlgorithm, string | undefined> {
  const wanted = new Map<ChecksumAlgorithm, string | undefined>();
  for (const [name, value] of Object.entries(headers)) {
    const algorithm = checksumAlgorithmOf(name);
    if (algorithm && typeof value === "string") wanted.set(algorithm, value.trim());
  }
  const trailer = headers["x-amz-trailer"];
  if (typeof trailer === "string") {
    const names = trailer.split(",").map((n) => n.trim());
    const algorithm = names.length === 1 ? checksumAlgorithmOf(names[0] ?? "") : undefined;
    if (!algorithm)
      throw new S3Error(
        "InvalidRequest",
        `x-amz-trailer "${trailer}" must name one of x-amz-checksum-${CHECKSUM_ALGORITHMS.join(", -")}`,
      );
    wanted.set(algorithm, undefined);
  }
  return wanted;
}

/**
 * Checks each of `computed` against what the client sent (`expected`, by algorithm): BadDigest
 * naming the algorithm when one differs or never came.
 */
export function checkChecksums(
  computed: ReadonlyMap<ChecksumAlgorithm, string>,
  expected: (algorithm: ChecksumAlgorithm) => string | undefined,
): void {
  for (const [algorithm, digest] of computed) {
    const sent = expected(algorithm);
    if (sent === undefined)
      throw new S3Error(
        "InvalidRequest",
        `the x-amz-checksum-${algorithm} the request promised never came`,
      );
    if (sent !== digest)
      throw new S3Error(
        "BadDigest",
        `the ${algorithm.toUpperCase()} you specified did not match the calculated checksum`,
      );
  }
}
