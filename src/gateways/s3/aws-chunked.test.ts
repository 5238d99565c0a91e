import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { AwsChunkedBody, type AwsChunkedOptions } from "./aws-chunked.ts";
import { createChecksum } from "./s3-checksums.ts";
import { S3Error } from "./s3-errors.ts";

// AWS's worked example of STREAMING-AWS4-HMAC-SHA256-PAYLOAD (the S3 API reference,
// "Signature calculations for the Authorization header: transferring payload in multiple
// chunks"): 66,560 bytes of "a" in chunks of 65,536 and 1,024, with AWS's signatures.
const hmac = (key: Buffer | string, text: string) =>
  createHmac("sha256", key).update(text).digest();
const EXAMPLE_SIGNING = {
  key: hmac(
    hmac(hmac(hmac("AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524"), "us-east-1"), "s3"),
    "aws4_request",
  ),
  amzDate: "20130524T000000Z",
  scope: "20130524/us-east-1/s3/aws4_request",
  seedSignature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
};
const EXAMPLE_SIGNATURES = [
  "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
  "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
  "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
];

function exampleBody(): Buffer {
  const chunk = (size: number, signature: string) =>
    Buffer.concat([
      Buffer.from(`${size.toString(16)};chunk-signature=${signature}\r\n`),
      Buffer.alloc(size, "a"),
      Buffer.from("\r\n"),
    ]);
  return Buffer.concat([
    chunk(65536, EXAMPLE_SIGNATURES[0] ?? ""),
    chunk(1024, EXAMPLE_SIGNATURES[1] ?? ""),
    chunk(0, EXAMPLE_SIGNATURES[2] ?? ""),
  ]);
}

/** `body` as a stream of pieces of `step` bytes, so parsing meets every split. */
async function* pieces(body: Buffer, step: number) {
  for (let at = 0; at < body.length; at += step) yield body.subarray(at, at + step);
}

async function decode(body: Buffer, options: AwsChunkedOptions, step = 997) {
  const decoded = new AwsChunkedBody(pieces(body, step), options);
  const out: Buffer[] = [];
  for await (const piece of decoded) out.push(piece);
  return { bytes: Buffer.concat(out), trailers: decoded.trailers };
}

const refusal = (code: string) => (error: unknown) =>
  error instanceof S3Error && error.code === code;

test("AWS's signed-chunk example decodes, split anywhere", async () => {
  for (const step of [1, 7, 997, 70_000]) {
    const { bytes } = await decode(
      exampleBody(),
      {
        mode: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        signing: EXAMPLE_SIGNING,
        decodedLength: 66560,
      },
      step,
    );
    assert.deepEqual(bytes, Buffer.alloc(66560, "a"));
  }
});

test("a changed byte, a changed signature or a wrong length in a signed body is refused", async () => {
  const options: AwsChunkedOptions = {
    mode: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    signing: EXAMPLE_SIGNING,
  };
  const changed = exampleBody();
  changed[200] = 0x62;
  await assert.rejects(decode(changed, options), refusal("SignatureDoesNotMatch"));
  const resigned = Buffer.from(exampleBody().toString("latin1").replace("ad80", "ad81"), "latin1");
  await assert.rejects(decode(resigned, options), refusal("SignatureDoesNotMatch"));
  await assert.rejects(
    decode(exampleBody(), { ...options, decodedLength: 66561 }),
    refusal("IncompleteBody"),
  );
  await assert.rejects(
    decode(exampleBody().subarray(0, 40_000), options),
    refusal("IncompleteBody"),
  );
  await assert.rejects(
    decode(Buffer.from("zz\r\n"), { mode: "STREAMING-UNSIGNED-PAYLOAD-TRAILER" }),
    refusal("IncompleteBody"),
  );
});

test("an unsigned body with a trailing checksum gives the bytes and the trailer", async () => {
  const data = Buffer.from("hello, trailing checksums");
  const crc = createChecksum("crc32");
  crc.update(data);
  const digest = crc.digest();
  const body = Buffer.from(
    `${(10).toString(16)}\r\n${data.subarray(0, 10)}\r\n${(data.length - 10).toString(16)}\r\n${data.subarray(10)}\r\n0\r\nx-amz-checksum-crc32:${digest}\r\n\r\n`,
  );
  const { bytes, trailers } = await decode(body, { mode: "STREAMING-UNSIGNED-PAYLOAD-TRAILER" }, 3);
  assert.deepEqual(bytes, data);
  assert.equal(trailers.get("x-amz-checksum-crc32"), digest);
  assert.equal(
    digest,
    "etTUzw==",
    "base64 of the big-endian CRC32, as Python's zlib.crc32 gives it",
  );
});
