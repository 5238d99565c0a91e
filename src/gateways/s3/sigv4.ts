/**
 * AWS Signature Version 4 as S3 checks it, for the S3 gateway: the signature in the
 * `Authorization` header, or in a presigned URL's query. The gateway recomputes it from the
 * request and the user's secret (which it derives, see `deriveUserSecret`) and compares in
 * constant time. Only the parts of the request the client signed count: the method, the
 * path, the query, the signed headers and the payload's hash as `x-amz-content-sha256`
 * declares it; checking the body against that hash is the caller's, once it has read it.
 *
 * Limits, as S3's: a header-signed request's date within 15 minutes of now; a presigned URL
 * valid for 1 s to 7 days from its date.
 */
import { createHash, createHmac } from "node:crypto";
import { secretsEqual } from "../../common/secrets.ts";
import { S3Error } from "./s3-errors.ts";

/** The only algorithm SigV4 has. */
const ALGORITHM = "AWS4-HMAC-SHA256";
/** How far a header-signed request's date may be from the gateway's clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** The longest a presigned URL may be valid for: 7 days, as S3 allows. */
export const MAX_PRESIGNED_SECONDS = 7 * 24 * 3600;
/** The payload hash of a request whose body is not signed. */
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

/** A request as the gateway received it. */
export interface SignedRequest {
  readonly method: string;
  /** The request target as sent: the path and query, still percent-encoded. */
  readonly url: string;
  /** Header names in lower case (as Node gives them). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** What a request claims about its signature, parsed and checked for form and time. */
export interface SignatureClaim {
  readonly accessKeyId: string;
  /** YYYYMMDD, the credential scope's date. */
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  /** YYYYMMDDTHHMMSSZ: the request's signing time. */
  readonly amzDate: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  /** The payload's hash as signed: hex SHA-256, UNSIGNED-PAYLOAD, or a streaming mode. */
  readonly payloadHash: string;
  readonly presigned: boolean;
}

function header(request: SignedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4 wants. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3Error("InvalidArgument", `the ${what} is not valid percent-encoding`);
  }
}

/** The request's query as decoded name-value pairs, in the order sent. */
export function queryPairs(url: string): Array<[string, string]> {
  const at = url.indexOf("?");
  if (at < 0) return [];
  return url
    .slice(at + 1)
    .split("&")
    .filter((part) => part !== "")
    .map((part) => {
      const eq = part.indexOf("=");
      const name = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? "" : part.slice(eq + 1);
      return [decode(name, "query"), decode(value, "query")];
    });
}

function canonicalUri(url: string): string {
  const at = url.indexOf("?");
  const path = at < 0 ? url : url.slice(0, at);
  return path
    .split("/")
    .map((segment) => uriEncode(decode(segment, "path")))
    .join("/");
}

function canonicalQuery(pairs: ReadonlyArray<[string, string]>): string {
  return pairs
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

/** `YYYYMMDDTHHMMSSZ` as ms since the epoch, or NaN. */
function amzDateMs(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return Number.NaN;
  return Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
  );
}

function parseCredential(credential: string, malformed: (why: string) => S3Error) {
  const parts = credential.split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request")
    throw malformed(`the credential "${credential}" is not KEY/DATE/REGION/SERVICE/aws4_request`);
  const [accessKeyId = "", scopeDate = "", region = "", service = ""] = parts;
  if (!/^\d{8}$/.test(scopeDate))
    throw malformed(`the credential's date "${scopeDate}" is not YYYYMMDD`);
  if (service !== "s3") throw malformed(`the credential is for service "${service}", not s3`);
  return { accessKeyId, scopeDate, region, service };
}

/**
 * What `request` claims about its signature, checked for form and time against `nowMs`;
 * undefined when it carries none (an anonymous request). Throws S3Error: the header or query
 * malformed, the date too far from now, a presigned URL expired.
 */
export function signatureClaim(request: SignedRequest, nowMs: number): SignatureClaim | undefined {
  const authorization = header(request, "authorization");
  const query = new Map(queryPairs(request.url));
  if (authorization !== undefined) {
    const malformed = (why: string) => new S3Error("AuthorizationHeaderMalformed", why);
    if (!authorization.startsWith(`${ALGORITHM} `))
      throw malformed(`the Authorization header's algorithm is not ${ALGORITHM}`);
    const fields = new Map<string, string>();
    for (const part of authorization.slice(ALGORITHM.length + 1).split(",")) {
      const eq = part.indexOf("=");
      if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const credential = fields.get("Credential");
    const signedHeaders = fields.get("SignedHeaders");
    const signature = fields.get("Signature");
    if (!credential || !signedHeaders || !signature)
      throw malformed("the Authorization header needs Credential, SignedHeaders and Signature");
    const amzDate = header(request, "x-amz-date") ?? "";
    const at = amzDateMs(amzDate);
    if (Number.isNaN(at))
      throw new S3Error("AccessDenied", "a signed request needs x-amz-date as YYYYMMDDTHHMMSSZ");
    if (Math.abs(nowMs - at) > MAX_CLOCK_SKEW_MS)
      throw new S3Error(
        "RequestTimeTooSkewed",
        "the difference between the request time and the server's time is too large",
      );
    const payloadHash = header(request, "x-amz-content-sha256");
    if (!payloadHash)
      throw new S3Error("InvalidRequest", "a signed request needs x-amz-content-sha256");
    const scope = parseCredential(credential, malformed);
    if (scope.scopeDate !== amzDate.slice(0, 8))
      throw malformed("the credential's date is not the request's");
    return {
      ...scope,
      amzDate,
      signedHeaders: signedHeaders.split(";"),
      signature,
      payloadHash,
      presigned: false,
    };
  }
  if (!query.has("X-Amz-Algorithm")) return undefined;
  const malformed = (why: string) => new S3Error("AuthorizationQueryParametersError", why);
  if (query.get("X-Amz-Algorithm") !== ALGORITHM)
    throw malformed(`X-Amz-Algorithm must be ${ALGORITHM}`);
  const credential = query.get("X-Amz-Credential");
  const amzDate = query.get("X-Amz-Date") ?? "";
  const expires = Number(query.get("X-Amz-Expires"));
  const signedHeaders = query.get("X-Amz-SignedHeaders");
  const signature = query.get("X-Amz-Signature");
  if (!credential || !signedHeaders || !signature)
    throw malformed(
      "a presigned URL needs X-Amz-Credential, X-Amz-SignedHeaders and X-Amz-Signature",
    );
  const at = amzDateMs(amzDate);
  if (Number.isNaN(at)) throw malformed("X-Amz-Date must be YYYYMMDDTHHMMSSZ");
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGNED_SECONDS)
    throw malformed(`X-Amz-Expires must be 1 to ${MAX_PRESIGNED_SECONDS} seconds`);
  if (nowMs > at + expires * 1000) throw new S3Error("AccessDenied", "Request has expired");
  if (at - nowMs > MAX_CLOCK_SKEW_MS)
    throw new S3Error("AccessDenied", "the presigned URL's date is in the future");
  const scope = parseCredential(credential, malformed);
  return {
    ...scope,
    amzDate,
    signedHeaders: signedHeaders.split(";"),
    signature,
    payloadHash: header(request, "x-amz-content-sha256") ?? UNSIGNED_PAYLOAD,
    presigned: true,
  };
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
const hmac = (key: Buffer | string, text: string) =>
  createHmac("sha256", key).update(text, "utf8").digest();

/** The signature `claim` should carry for `request` when signed with `secret`. */
export function expectedSignature(
  request: SignedRequest,
  claim: SignatureClaim,
  secret: string,
): string {
  const pairs = queryPairs(request.url).filter(
    ([name]) => !(claim.presigned && name === "X-Amz-Signature"),
  );
  const headers = claim.signedHeaders.map((name) => {
    const value = header(request, name) ?? "";
    return `${name}:${value.trim().replace(/\s+/g, " ")}\n`;
  });
  const canonicalRequest = [
    request.method,
    canonicalUri(request.url),
    canonicalQuery(pairs),
    headers.join(""),
    claim.signedHeaders.join(";"),
    claim.payloadHash,
  ].join("\n");
  const scope = `${claim.scopeDate}/${claim.region}/${claim.service}/aws4_request`;
  const stringToSign = [ALGORITHM, claim.amzDate, scope, sha256(canonicalRequest)].join("\n");
  return createHmac("sha256", signingKey(claim, secret)).update(stringToSign, "utf8").digest("hex");
}

/** The key SigV4 derives from `secret` for `claim`'s date, region and service. */
function signingKey(claim: SignatureClaim, secret: string): Buffer {
  return hmac(
    hmac(hmac(hmac(`AWS4${secret}`, claim.scopeDate), claim.region), claim.service),
    "aws4_request",
  );
}

/** What an `aws-chunked` body's chunk signatures are checked with (aws-chunked.ts). */
export interface ChunkSigning {
  readonly key: Buffer;
  readonly amzDate: string;
  /** `DATE/REGION/SERVICE/aws4_request`. */
  readonly scope: string;
  /** The request's own signature: the first chunk's "previous signature". */
  readonly seedSignature: string;
}

/** The chunk signing of a request whose `claim` checked out with `secret`. */
export function chunkSigning(claim: SignatureClaim, secret: string): ChunkSigning {
  return {
    key: signingKey(claim, secret),
    amzDate: claim.amzDate,
    scope: `${claim.scopeDate}/${claim.region}/${claim.service}/aws4_request`,
    seedSignature: claim.signature,
  };
}

/**
 * Checks `claim` against `request` signed with `secret`: SignatureDoesNotMatch otherwise,
 * compared in constant time. `host` must be among the signed headers, as S3 requires.
 */
export function verifySignature(request: SignedRequest, claim: SignatureClaim, secret: string) {
  if (!claim.signedHeaders.includes("host"))
    throw new S3Error("AccessDenied", "the signed headers must include host");
  if (!secretsEqual(expectedSignature(request, claim, secret), claim.signature))
    throw new S3Error(
      "SignatureDoesNotMatch",
      "the request signature we calculated does not match the signature you provided",
    );
}
