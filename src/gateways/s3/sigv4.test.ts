import assert from "node:assert/strict";
import { test } from "node:test";
import { S3Error } from "./s3-errors.ts";
import { MAX_CLOCK_SKEW_MS, type SignedRequest, signatureClaim, verifySignature } from "./sigv4.ts";

// Signed by botocore 1.26 (Debian's python3-boto3: S3SigV4Auth and S3SigV4QueryAuth), offline,
// with these credentials: the vectors are a real client's, not this module's own output.
const SECRET = "wJalrXUtnFEMI_K7MDENG-bPxRfiCYEXAMPLEKEY0";
const SIGNED_AT = Date.UTC(2026, 11, 3, 15, 58, 1);

const put: SignedRequest = {
  method: "PUT",
  url: "/photos/2026/a%20b%2Bc.txt?tagging=&x-id=PutObject",
  headers: {
    host: "127.0.0.1:9000",
    "content-type": "text/plain",
    "x-amz-meta-color": "  blue   green ",
    range: "bytes=0-1",
    "x-amz-date": "20261203T155801Z",
    "x-amz-content-sha256": "c043ba599d48c5338cd9075ae0edbd65b49713627f66e472c26dc2ec093f387a",
    authorization:
      "AWS4-HMAC-SHA256 Credential=SKEXAMPLE0123456789/20261203/us-east-1/s3/aws4_request, SignedHeaders=content-type;host;range;x-amz-content-sha256;x-amz-date;x-amz-meta-color, Signature=1b7e4df5f1e649da443953e30d647ea541543dcefec14b5cdf1202e0cda06a0d",
  },
};

const presigned: SignedRequest = {
  method: "GET",
  url: "/photos/a.txt?response-content-type=text%2Fplain&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=SKEXAMPLE0123456789%2F20261203%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261203T155801Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=01871e966a74a9d612874575ad84c5ece9321d2b446fd7a11c8a4b20d43a9f7f",
  headers: { host: "127.0.0.1:9000" },
};

const refusal = (code: string) => (error: unknown) =>
  error instanceof S3Error && error.code === code;

test("a header-signed request from botocore checks out; any change to what it signed does not", () => {
  const claim = signatureClaim(put, SIGNED_AT + 1000);
  assert.ok(claim);
  assert.equal(claim.accessKeyId, "SKEXAMPLE0123456789");
  assert.equal(claim.region, "us-east-1");
  assert.equal(claim.presigned, false);
  verifySignature(put, claim, SECRET);
  assert.throws(() => verifySignature(put, claim, `${SECRET}x`), refusal("SignatureDoesNotMatch"));
  for (const changed of [
    { ...put, method: "POST" },
    { ...put, url: put.url.replace("a%20b", "a%20c") },
    { ...put, url: put.url.replace("x-id=PutObject", "x-id=GetObject") },
    { ...put, headers: { ...put.headers, range: "bytes=0-2" } },
  ])
    assert.throws(() => verifySignature(changed, claim, SECRET), refusal("SignatureDoesNotMatch"));
  // Headers it did not sign may change.
  verifySignature({ ...put, headers: { ...put.headers, "user-agent": "other" } }, claim, SECRET);
});

test("a header-signed request too far from the gateway's clock is refused", () => {
  assert.throws(
    () => signatureClaim(put, SIGNED_AT + MAX_CLOCK_SKEW_MS + 1000),
    refusal("RequestTimeTooSkewed"),
  );
  assert.throws(
    () => signatureClaim(put, SIGNED_AT - MAX_CLOCK_SKEW_MS - 1000),
    refusal("RequestTimeTooSkewed"),
  );
});

test("a presigned URL from botocore checks out until it expires", () => {
  const claim = signatureClaim(presigned, SIGNED_AT + 3599_000);
  assert.ok(claim?.presigned);
  verifySignature(presigned, claim, SECRET);
  assert.throws(
    () =>
      verifySignature(
        { ...presigned, url: presigned.url.replace("a.txt", "b.txt") },
        claim,
        SECRET,
      ),
    refusal("SignatureDoesNotMatch"),
  );
  assert.throws(() => signatureClaim(presigned, SIGNED_AT + 3601_000), refusal("AccessDenied"));
});

test("malformed signatures are refused by name; an unsigned request claims nothing", () => {
  assert.equal(signatureClaim({ method: "GET", url: "/", headers: {} }, SIGNED_AT), undefined);
  const withAuthorization = (authorization: string): SignedRequest => ({
    ...put,
    headers: { ...put.headers, authorization },
  });
  for (const bad of [
    "AWS AKID:signature",
    "AWS4-HMAC-SHA256 Credential=SK/20261203/us-east-1/s3/aws4_request, Signature=00",
    "AWS4-HMAC-SHA256 Credential=SK/2026/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
    "AWS4-HMAC-SHA256 Credential=SK/20261203/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00",
    "AWS4-HMAC-SHA256 Credential=SK/20261202/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
  ])
    assert.throws(
      () => signatureClaim(withAuthorization(bad), SIGNED_AT),
      refusal("AuthorizationHeaderMalformed"),
      bad,
    );
  assert.throws(
    () =>
      signatureClaim(
        { ...presigned, url: presigned.url.replace("X-Amz-Expires=3600", "X-Amz-Expires=604801") },
        SIGNED_AT,
      ),
    refusal("AuthorizationQueryParametersError"),
  );
  const claim = signatureClaim(put, SIGNED_AT);
  assert.ok(claim);
  assert.throws(
    () => verifySignature({ ...put, url: "/photos/%E0%A4%A?x=1" }, claim, SECRET),
    refusal("InvalidArgument"),
  );
});
