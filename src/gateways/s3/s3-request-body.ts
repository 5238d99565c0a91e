/**
 * A request's body as the S3 gateway takes it in: plain, or `aws-chunked` (aws-chunked.ts),
 * with every check the client asked for once the last byte has come: Content-MD5, the signed
 * payload's SHA-256, and the flexible checksums sent as headers or trailers.
 */

import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { AwsChunkedBody, isStreamingMode } from "./aws-chunked.ts";
import {
  type Checksum,
  checkChecksums,
  createChecksum,
  requestedChecksums,
} from "./s3-checksums.ts";
import { S3Error } from "./s3-errors.ts";
import type { ObjectBody } from "./s3-objects.ts";
import { type ChunkSigning, UNSIGNED_PAYLOAD } from "./sigv4.ts";

/**
 * The body of `request`, whose signature declared `payloadHash` and, for signed streaming
 * bodies, chains its chunks from `signing`. Throws S3Error for a streaming mode not served
 * (SigV4a) or a malformed checksum declaration; the body's own errors come as it is read.
 */
export function requestBody(
  request: IncomingMessage,
  payloadHash: string,
  signing: ChunkSigning,
): ObjectBody {
  const headers = request.headers;
  const wanted = requestedChecksums(headers);
  const running = new Map<string, Checksum>([...wanted.keys()].map((a) => [a, createChecksum(a)]));
  const signedHash = /^[0-9a-f]{64}$/.test(payloadHash) ? createHash("sha256") : undefined;
  if (!signedHash && payloadHash !== UNSIGNED_PAYLOAD && !isStreamingMode(payloadHash))
    throw new S3Error(
      "NotImplemented",
      `x-amz-content-sha256 "${payloadHash.slice(0, 64)}" is not served (docs/s3.md)`,
    );
  const decodedText = headers["x-amz-decoded-content-length"];
  const decodedLength = typeof decodedText === "string" ? Number(decodedText) : undefined;
  if (decodedLength !== undefined && !Number.isSafeInteger(decodedLength))
    throw new S3Error("InvalidArgument", "x-amz-decoded-content-length is not a length");
  const chunked = isStreamingMode(payloadHash)
    ? new AwsChunkedBody(request, { mode: payloadHash, signing, decodedLength })
    : undefined;
  const source: AsyncIterable<Buffer> = chunked ?? request;
  async function* tapped() {
    for await (const piece of source) {
      signedHash?.update(piece);
      for (const checksum of running.values()) checksum.update(piece);
      yield piece;
    }
  }
  return {
    source: tapped(),
    verify(md5) {
      const contentMd5 = headers["content-md5"];
      if (contentMd5 !== undefined && contentMd5 !== md5.toString("base64"))
        throw new S3Error(
          "BadDigest",
          "the Content-MD5 you specified did not match what we received",
        );
      if (signedHash && signedHash.digest("hex") !== payloadHash)
        throw new S3Error(
          "XAmzContentSHA256Mismatch",
          "the provided x-amz-content-sha256 header does not match what was computed",
        );
      const computed = new Map([...wanted.keys()].map((a) => [a, running.get(a)?.digest() ?? ""]));
      checkChecksums(
        computed,
        (algorithm) =>
          wanted.get(algorithm) ?? chunked?.trailers.get(`x-amz-checksum-${algorithm}`),
      );
    },
  };
}
