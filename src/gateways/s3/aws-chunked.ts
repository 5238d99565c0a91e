/**
 * S3's `aws-chunked` body encoding, decoded: what the AWS SDKs and CLI send by default
 * since 2025 (aws/aws-sdk-js-v3#6810). The body is a run of chunks, each `HEX-SIZE` and
 * optionally `;chunk-signature=SIG` on a line, the bytes, CRLF; a chunk of size 0 ends it,
 * and trailing headers (a checksum, and for signed trailers its signature) may follow.
 *
 * Signed chunks (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`) each carry a signature
 * chained from the request's own, which this checks; unsigned ones
 * (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`) are trusted as the request's signature trusts an
 * unsigned payload, and their trailing checksum is what protects the bytes.
 *
 * Bytes are passed on as they arrive, before their chunk's signature is checked: the caller
 * writes them to a staged file that a refusal removes, so nothing unchecked is ever visible.
 *
 * Limits: a chunk header line at most 4 KiB; a chunk at most 64 MiB (clients send 8 KiB to
 * 1 MiB); at most 16 trailing headers of at most 4 KiB each.
 */
import { createHash, createHmac } from "node:crypto";
import { secretsEqual } from "../../common/secrets.ts";
import { S3Error } from "./s3-errors.ts";
import type { ChunkSigning } from "./sigv4.ts";

const MAX_LINE_BYTES = 4096;
const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
const MAX_TRAILERS = 16;
const EMPTY_SHA256 = createHash("sha256").digest("hex");

/** The streaming payload modes of `x-amz-content-sha256` that this decodes. */
export const STREAMING_MODES = {
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": { signed: true, trailer: false },
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": { signed: true, trailer: true },
  "STREAMING-UNSIGNED-PAYLOAD-TRAILER": { signed: false, trailer: true },
} as const;
export type StreamingMode = keyof typeof STREAMING_MODES;

/** Whether `payloadHash` names a streaming mode this decodes. */
export function isStreamingMode(payloadHash: string): payloadHash is StreamingMode {
  return Object.hasOwn(STREAMING_MODES, payloadHash);
}

export interface AwsChunkedOptions {
  readonly mode: StreamingMode;
  /** For the signed modes: what the chunk signatures chain from. */
  readonly signing?: ChunkSigning;
  /** `x-amz-decoded-content-length`, when sent: the body's length once decoded. */
  readonly decodedLength?: number;
}

const incomplete = (why: string) => new S3Error("IncompleteBody", `the aws-chunked body ${why}`);
const badSignature = (what: string) =>
  new S3Error(
    "SignatureDoesNotMatch",
    `the ${what} signature we calculated does not match the one you provided`,
  );

/**
 * An aws-chunked body decoded: iterate it once for the object's bytes; after that,
 * `trailers` holds the trailing headers (names in lower case). The iteration throws S3Error:
 * IncompleteBody for a malformed or short body, SignatureDoesNotMatch for a chunk or
 * trailer whose signature does not check out.
 */
export class AwsChunkedBody implements AsyncIterable<Buffer> {
  readonly trailers = new Map<string, string>();
  private readonly signing: ChunkSigning | undefined;

  constructor(
    private readonly source: AsyncIterable<Buffer>,
    private readonly options: AwsChunkedOptions,
  ) {
    const { signed } = STREAMING_MODES[options.mode];
    if (signed && !options.signing) throw new Error("a signed aws-chunked body needs its signing");
    this.signing = signed ? options.signing : undefined;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    const input = this.source[Symbol.asyncIterator]();
    let buffer: Buffer = Buffer.alloc(0);
    const more = async (): Promise<boolean> => {
      const next = await input.next();
      if (next.done) return false;
      buffer = buffer.length === 0 ? next.value : Buffer.concat([buffer, next.value]);
      return true;
    };
    /** The next CRLF-ended line, or undefined at the body's end. */
    const line = async (): Promise<string | undefined> => {
      for (;;) {
        const at = buffer.indexOf("\r\n");
        if (at >= 0) {
          const text = buffer.subarray(0, at).toString("latin1");
          buffer = buffer.subarray(at + 2);
          return text;
        }
        if (buffer.length > MAX_LINE_BYTES)
          throw incomplete(`has a line over ${MAX_LINE_BYTES} bytes`);
        if (!(await more())) return buffer.length === 0 ? undefined : buffer.toString("latin1");
      }
    };

    let previous = this.signing?.seedSignature ?? "";
    let decoded = 0;
    for (;;) {
      const header = await line();
      if (header === undefined) throw incomplete("ended before its last chunk");
      const match = /^([0-9a-fA-F]{1,8})(?:;chunk-signature=([0-9a-f]{64}))?$/.exec(header);
      if (!match)
        throw incomplete(
          `has a chunk header "${header.slice(0, 80)}" that is not HEX-SIZE[;chunk-signature=SIG]`,
        );
      const size = Number.parseInt(match[1] ?? "", 16);
      if (size > MAX_CHUNK_BYTES) throw incomplete(`has a chunk over ${MAX_CHUNK_BYTES} bytes`);
      const signature = match[2];
      if (this.signing && signature === undefined) throw badSignature("chunk (none sent)");
      const hash = this.signing ? createHash("sha256") : undefined;
      for (let left = size; left > 0; ) {
        if (buffer.length === 0 && !(await more())) throw incomplete("ended inside a chunk");
        const piece = buffer.subarray(0, Math.min(left, buffer.length));
        buffer = buffer.subarray(piece.length);
        left -= piece.length;
        decoded += piece.length;
        hash?.update(piece);
        yield piece;
      }
      if (this.signing && hash && signature !== undefined) {
        const expected = this.sign(this.signing, "AWS4-HMAC-SHA256-PAYLOAD", [
          previous,
          EMPTY_SHA256,
          hash.digest("hex"),
        ]);
        if (!secretsEqual(expected, signature)) throw badSignature("chunk");
        previous = signature;
      }
      if (size === 0) break;
      while (buffer.length < 2)
        if (!(await more())) throw incomplete("ended after a chunk's bytes");
      if (buffer[0] !== 0x0d || buffer[1] !== 0x0a)
        throw incomplete("has a chunk longer than its size");
      buffer = buffer.subarray(2);
    }
    if (this.options.decodedLength !== undefined && decoded !== this.options.decodedLength)
      throw incomplete(
        `held ${decoded} bytes, not the ${this.options.decodedLength} of x-amz-decoded-content-length`,
      );
    await this.readTrailers(line, previous);
  }

  private async readTrailers(line: () => Promise<string | undefined>, previous: string) {
    const { trailer } = STREAMING_MODES[this.options.mode];
    let trailerSignature: string | undefined;
    const signedLines: string[] = [];
    for (;;) {
      const text = await line();
      if (text === undefined || text === "") break;
      if (!trailer) throw incomplete("has trailing headers it did not declare");
      const colon = text.indexOf(":");
      if (colon <= 0)
        throw incomplete(`has a trailing header "${text.slice(0, 80)}" that is not NAME:VALUE`);
      const name = text.slice(0, colon).trim().toLowerCase();
      const value = text.slice(colon + 1).trim();
      if (name === "x-amz-trailer-signature") trailerSignature = value;
      else {
        if (this.trailers.size >= MAX_TRAILERS)
          throw incomplete(`has over ${MAX_TRAILERS} trailing headers`);
        this.trailers.set(name, value);
        signedLines.push(`${name}:${value}\n`);
      }
    }
    if (!(this.signing && trailer)) return;
    if (trailerSignature === undefined) throw badSignature("trailer (none sent)");
    const expected = this.sign(this.signing, "AWS4-HMAC-SHA256-TRAILER", [
      previous,
      createHash("sha256").update(signedLines.join("")).digest("hex"),
    ]);
    if (!secretsEqual(expected, trailerSignature)) throw badSignature("trailer");
  }

  private sign(signing: ChunkSigning, algorithm: string, rest: readonly string[]): string {
    const text = [algorithm, signing.amzDate, signing.scope, ...rest].join("\n");
    return createHmac("sha256", signing.key).update(text, "utf8").digest("hex");
  }
}
