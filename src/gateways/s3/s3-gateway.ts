/**
 * The S3 gateway (docs/s3.md): S3's REST API over the SDK, path-style
 * (`http://HOST:PORT/BUCKET/KEY`). A bucket is a top-level directory and an object a file
 * below it, so what S3 clients write, the mount, the REST API and the SDK read.
 *
 * Every request is checked with AWS Signature V4 (sigv4.ts) against the user the access key
 * names, whose secret the gateway derives from the cluster token (`deriveUserSecret`); then
 * the gateway calls the cluster as that user, so the cluster's permissions decide.
 *
 * An object appears whole or not at all: its bytes go to a hidden file in its bucket, get
 * their ETag (the MD5), type and user metadata as extended attributes, and are renamed into
 * place, one metadata commit. This first step serves buckets (list, create, head, delete,
 * location), objects (put, get with Range, head, delete) and ListObjects v1 and v2; keys that
 * are not file paths, multipart uploads, copies and streaming (aws-chunked) bodies are not
 * served yet (NotImplemented or InvalidArgument, naming what).
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { SandstoreClient, Stats } from "../../client/sandstore-client.ts";
import { SandstoreError, UnavailableError } from "../../common/errors.ts";
import type { UserRecord } from "../../gen/sandstore/v1/metadata.ts";
import type { ClientCredentials } from "../../transport/file-service-api.ts";
import { answerRange } from "../http/byte-range.ts";
import { ClientPool } from "../http/client-pool.ts";
import { S3Error } from "./s3-errors.ts";
import {
  abortUpload,
  completeUpload,
  createUpload,
  listParts,
  listUploads,
  MAX_PART_BYTES,
  partNumberOf,
  sweepAbandoned,
  uploadPart,
} from "./s3-multipart.ts";
import {
  attributesFromHeaders,
  checkKey,
  copiedAttributes,
  deleteObject,
  ETAG_XATTR,
  etagOf,
  MAX_PUT_BYTES,
  type ObjectBody,
  objectHeaders,
  objectPath,
  publishObject,
  STAGING_PREFIX,
  stageBytes,
  stagingPath,
} from "./s3-objects.ts";
import { requestBody } from "./s3-request-body.ts";
import {
  childrenNamed,
  childText,
  MAX_XML_BODY_BYTES,
  readXml,
  XML_DECLARATION,
  type XmlElement,
  xmlDocument,
  xmlElement,
  xmlError,
  xmlErrorElement,
} from "./s3-xml.ts";
import {
  type ChunkSigning,
  chunkSigning,
  queryPairs,
  signatureClaim,
  verifySignature,
} from "./sigv4.ts";

/** Most keys a listing page holds, as S3's. */
const MAX_KEYS = 1000;
/**
 * Most entries one listing walks: a listing sorts the keys below a prefix's directory, so a
 * bucket far larger than this needs a narrower prefix.
 */
const MAX_LISTING_WALK = 100_000;
/** Most keys one DeleteObjects names, as S3's. */
const MAX_DELETE_KEYS = 1000;
/** How long an upload may sit untouched before the sweep removes it, unless configured. */
export const DEFAULT_ABANDONED_UPLOAD_AGE_MS = 7 * 24 * 3600 * 1000;
/**
 * How long a CompleteMultipartUpload or copy may run before the gateway sends its 200 and
 * keeps the connection alive with spaces, as S3 does: clients give up on a silent socket.
 */
const KEEPALIVE_AFTER_MS = 10_000;

export interface S3GatewayOptions {
  /** `host:port`; port 0 picks one. */
  readonly listen: string;
  /** The region clients sign for. */
  readonly region: string;
  /** The user an access key names, with its salt; undefined when none. */
  readonly userByAccessKey: (accessKeyId: string) => Promise<UserRecord | undefined>;
  /** A user's secret from its access key and salt (`deriveUserSecret` under the cluster's key). */
  readonly secretOf: (accessKeyId: string, salt: Uint8Array) => string;
  /** A client of the cluster calling with `credentials`. */
  readonly connect: (credentials: ClientCredentials) => SandstoreClient;
  /** The clock signatures and upload ages are checked against; injectable for tests. */
  readonly now?: () => number;
  /** Multipart uploads and staged files untouched this long are removed (ms). */
  readonly abandonedUploadAgeMs?: number;
  /** Told what each sweep for abandoned uploads did. */
  readonly onSweep?: (result: { removed: number; failed: number }) => void;
}

export interface S3Gateway {
  /** `host:port` it listens on, with the real port. */
  readonly address: string;
  /** Sweeps every bucket for abandoned uploads now (the gateway also does so on a timer). */
  sweep(): Promise<{ removed: number; failed: number }>;
  close(): Promise<void>;
}

/** Bucket names as S3 allows them: 3 to 63 lower-case letters, digits, dots and hyphens. */
function checkBucketName(name: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes(".."))
    throw new S3Error("InvalidBucketName", `"${name}" is not a valid bucket name`);
}

/** The S3 error a store error means, for a request on `bucket` and `key`. */
function s3ErrorOf(error: unknown, key: string): S3Error | undefined {
  if (error instanceof S3Error) return error;
  if (error instanceof UnavailableError)
    return new S3Error("ServiceUnavailable", "the cluster could not answer now");
  if (!(error instanceof SandstoreError)) return undefined;
  switch (error.code) {
    case "ENOENT":
    case "ENOTDIR":
    case "EISDIR":
      return new S3Error(key ? "NoSuchKey" : "NoSuchBucket", error.message);
    case "EACCES":
    case "EPERM":
      return new S3Error("AccessDenied", error.message);
    case "ENOTEMPTY":
      return new S3Error("BucketNotEmpty", "the bucket you tried to delete is not empty");
    case "ENOSPC":
      return new S3Error("ServiceUnavailable", error.message);
    default:
      return new S3Error("InternalError", error.message);
  }
}

/** One request, parsed and authenticated: the bucket and key from the path, the query. */
interface S3Request {
  readonly raw: IncomingMessage;
  readonly bucket: string;
  readonly key: string;
  readonly query: ReadonlyMap<string, string>;
  readonly payloadHash: string;
  readonly signing: ChunkSigning;
  readonly accessKeyId: string;
}

/** The body of `r` as an object's bytes, with the checks its client asked for. */
const bodyOf = (r: S3Request): ObjectBody => requestBody(r.raw, r.payloadHash, r.signing);

/** A request's XML body, read whole (at most MAX_XML_BODY_BYTES) and checked as any body. */
async function xmlBodyOf(r: S3Request) {
  const body = bodyOf(r);
  const pieces: Buffer[] = [];
  let size = 0;
  const md5 = createHash("md5");
  for await (const piece of body.source) {
    size += piece.length;
    if (size > MAX_XML_BODY_BYTES)
      throw new S3Error("MalformedXML", `the request's XML is over ${MAX_XML_BODY_BYTES} bytes`);
    md5.update(piece);
    pieces.push(piece);
  }
  body.verify(md5.digest());
  return readXml(
    Buffer.concat(pieces).toString("utf8"),
    (why) => new S3Error("MalformedXML", `the XML you provided was not well-formed: ${why}`),
  );
}

/** The bucket and key an `x-amz-copy-source` names (`[/]BUCKET/KEY`, percent-encoded). */
function copySourceOf(header: string): { bucket: string; key: string } {
  const [path = "", version] = header.split("?");
  if (version !== undefined && version !== "versionId=null")
    throw new S3Error("NotImplemented", "versions are not kept (docs/s3.md)");
  let decoded: string;
  try {
    decoded = decodeURIComponent(path).replace(/^\//, "");
  } catch {
    throw new S3Error("InvalidArgument", "x-amz-copy-source is not valid percent-encoding");
  }
  const slash = decoded.indexOf("/");
  if (slash <= 0 || slash === decoded.length - 1)
    throw new S3Error("InvalidArgument", "x-amz-copy-source must be BUCKET/KEY");
  const bucket = decoded.slice(0, slash);
  const key = decoded.slice(slash + 1);
  checkBucketName(bucket);
  checkKey(key);
  return { bucket, key };
}

/** Whether the `if-*` conditions in `headers` (under `prefix`) hold for an object. */
function conditionsHold(
  headers: IncomingMessage["headers"],
  prefix: string,
  etag: string,
  mtimeMs: number,
): { ok: true } | { ok: false; status: 304 | 412 } {
  const get = (name: string) => {
    const value = headers[`${prefix}${name}`];
    return typeof value === "string" ? value : undefined;
  };
  const seconds = Math.floor(mtimeMs / 1000) * 1000;
  const ifMatch = get("if-match");
  const ifNoneMatch = get("if-none-match");
  if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== etag)
    return { ok: false, status: 412 };
  const unmodifiedSince = Date.parse(get("if-unmodified-since") ?? "");
  if (ifMatch === undefined && !Number.isNaN(unmodifiedSince) && seconds > unmodifiedSince)
    return { ok: false, status: 412 };
  if (ifNoneMatch !== undefined && (ifNoneMatch === "*" || ifNoneMatch === etag))
    return { ok: false, status: 304 };
  const modifiedSince = Date.parse(get("if-modified-since") ?? "");
  if (ifNoneMatch === undefined && !Number.isNaN(modifiedSince) && seconds <= modifiedSince)
    return { ok: false, status: 304 };
  return { ok: true };
}

/** Starts the gateway. */
export async function startS3Gateway(o: S3GatewayOptions): Promise<S3Gateway> {
  const now = o.now ?? Date.now;
  const abandonedAgeMs = o.abandonedUploadAgeMs ?? DEFAULT_ABANDONED_UPLOAD_AGE_MS;
  const pool = new ClientPool((credentials) =>
    o.connect(credentials ?? { accessKeyId: "", secret: "" }),
  );
  /** The last user whose request checked out: whom the sweep lists buckets as. */
  let lastUser: ClientCredentials | undefined;

  async function credentialsOf(accessKeyId: string): Promise<ClientCredentials | undefined> {
    const user = await o.userByAccessKey(accessKeyId);
    return (
      user && { accessKeyId: user.accessKeyId, secret: o.secretOf(user.accessKeyId, user.salt) }
    );
  }

  async function authenticate(request: IncomingMessage) {
    const signed = {
      method: request.method ?? "GET",
      url: request.url ?? "/",
      headers: request.headers,
    };
    const claim = signatureClaim(signed, now());
    if (!claim) throw new S3Error("AccessDenied", "anonymous requests are not served");
    const credentials = await credentialsOf(claim.accessKeyId);
    if (!credentials)
      throw new S3Error(
        "InvalidAccessKeyId",
        "the access key you provided does not exist in our records",
      );
    verifySignature(signed, claim, credentials.secret);
    lastUser = credentials;
    return {
      credentials,
      payloadHash: claim.payloadHash,
      signing: chunkSigning(claim, credentials.secret),
    };
  }

  async function listBuckets(client: SandstoreClient, res: ServerResponse) {
    const buckets: XmlElement[] = [];
    for (const entry of await client.readdir("/"))
      if (entry.stats.isDirectory() && !entry.name.startsWith("."))
        buckets.push([
          "Bucket",
          [
            ["Name", entry.name],
            ["CreationDate", new Date(entry.stats.ctimeMs).toISOString()],
          ],
        ]);
    sendXml(res, 200, "ListAllMyBucketsResult", [
      ["Owner", [["ID", "sandstore"]]],
      ["Buckets", buckets],
    ]);
  }

  async function bucketExists(client: SandstoreClient, bucket: string): Promise<void> {
    const stats = await client.stat(`/${bucket}`).catch((error: unknown) => {
      throw s3ErrorOf(error, "") ?? error;
    });
    if (!stats.isDirectory()) throw new S3Error("NoSuchBucket", `${bucket} is not a bucket`);
  }

  /**
   * Runs an object operation in `bucket`. The bucket is asked about only when the operation
   * finds no such entry (NoSuchBucket when the bucket is what is missing), not on every
   * request.
   */
  async function inBucket<T>(client: SandstoreClient, bucket: string, run: () => Promise<T>) {
    try {
      return await run();
    } catch (error) {
      if (error instanceof SandstoreError && (error.code === "ENOENT" || error.code === "ENOTDIR"))
        await bucketExists(client, bucket);
      throw error;
    }
  }

  async function putObject(client: SandstoreClient, r: S3Request, res: ServerResponse) {
    const declared = r.raw.headers["content-length"];
    if (declared !== undefined && Number(declared) > MAX_PUT_BYTES + 1024 * 1024)
      throw new S3Error("EntityTooLarge", `a single PUT is at most ${MAX_PUT_BYTES} bytes`);
    const attributes = attributesFromHeaders(r.raw.headers);
    const staging = stagingPath(r.bucket);
    const staged = await stageBytes(client, staging, bodyOf(r), MAX_PUT_BYTES);
    const etag = staged.md5.toString("hex");
    await publishObject(client, staging, r.bucket, r.key, { ...attributes, [ETAG_XATTR]: etag });
    res.writeHead(200, { etag: `"${etag}"`, "content-length": 0 }).end();
  }

  /** The source object of a copy, checked against the copy's `x-amz-copy-source-if-*`. */
  async function copySource(client: SandstoreClient, r: S3Request, header: string) {
    const source = copySourceOf(header);
    const path = objectPath(source.bucket, source.key);
    const stats = await inBucket(client, source.bucket, () => client.stat(path)).catch(
      (error: unknown) => {
        throw s3ErrorOf(error, source.key) ?? error;
      },
    );
    if (!stats.isFile()) throw new S3Error("NoSuchKey", "the copy source does not exist");
    if (!conditionsHold(r.raw.headers, "x-amz-copy-source-", etagOf(stats), stats.mtimeMs).ok)
      throw new S3Error("PreconditionFailed", "a condition on the copy source did not hold");
    // A copy's request has no body of its own to read.
    r.raw.resume();
    return { ...source, path, stats };
  }

  /**
   * Answers `res` with the document `work` makes, sending 200 and spaces meanwhile when the
   * work takes long (an error after that is an Error document in the 200, as S3 sends).
   */
  async function answerSlowly(
    res: ServerResponse,
    root: string,
    work: () => Promise<XmlElement[]>,
  ): Promise<void> {
    let started = false;
    const keepalive = setInterval(() => {
      if (!started) {
        started = true;
        res.writeHead(200, { "content-type": "application/xml" });
        res.write(XML_DECLARATION);
      }
      res.write(" ");
    }, KEEPALIVE_AFTER_MS);
    try {
      const children = await work();
      clearInterval(keepalive);
      if (started) res.end(xmlElement(root, children));
      else sendXml(res, 200, root, children);
    } catch (error) {
      clearInterval(keepalive);
      if (!started) throw error;
      const failure =
        s3ErrorOf(error, "") ?? new S3Error("InternalError", "we encountered an internal error");
      res.end(xmlErrorElement(failure.code, failure.message, res.req.url ?? "", ""));
    }
  }

  async function copyObject(
    client: SandstoreClient,
    r: S3Request,
    res: ServerResponse,
    header: string,
  ) {
    const source = await copySource(client, r, header);
    const directive = r.raw.headers["x-amz-metadata-directive"] ?? "COPY";
    if (directive !== "COPY" && directive !== "REPLACE")
      throw new S3Error("InvalidArgument", "x-amz-metadata-directive must be COPY or REPLACE");
    if (source.bucket === r.bucket && source.key === r.key && directive === "COPY")
      throw new S3Error(
        "InvalidRequest",
        "this copy request is illegal because it is trying to copy an object to itself without changing the object's metadata",
      );
    const attributes =
      directive === "REPLACE"
        ? attributesFromHeaders(r.raw.headers)
        : copiedAttributes(source.stats);
    await answerSlowly(res, "CopyObjectResult", async () => {
      const staging = stagingPath(r.bucket);
      const body = { source: client.createReadStream(source.path), verify() {} };
      const staged = await inBucket(client, r.bucket, () =>
        stageBytes(client, staging, body, MAX_PUT_BYTES),
      );
      const etag = staged.md5.toString("hex");
      await publishObject(client, staging, r.bucket, r.key, { ...attributes, [ETAG_XATTR]: etag });
      return [
        ["ETag", `"${etag}"`],
        ["LastModified", new Date(now()).toISOString()],
      ];
    });
  }

  async function deleteObjects(client: SandstoreClient, r: S3Request, res: ServerResponse) {
    await bucketExists(client, r.bucket);
    const request = await xmlBodyOf(r);
    if (request.name !== "Delete")
      throw new S3Error("MalformedXML", "the document is not a Delete");
    const quiet = childText(request, "Quiet") === "true";
    const objects = childrenNamed(request, "Object");
    if (objects.length === 0 || objects.length > MAX_DELETE_KEYS)
      throw new S3Error("MalformedXML", `a Delete names 1 to ${MAX_DELETE_KEYS} objects`);
    const results: XmlElement[] = [];
    for (const object of objects) {
      const key = childText(object, "Key") ?? "";
      try {
        checkKey(key);
        await deleteObject(client, r.bucket, key);
        if (!quiet) results.push(["Deleted", [["Key", key]]]);
      } catch (error) {
        const failure = s3ErrorOf(error, key);
        if (!failure) throw error;
        results.push([
          "Error",
          [
            ["Key", key],
            ["Code", failure.code],
            ["Message", failure.message],
          ],
        ]);
      }
    }
    sendXml(res, 200, "DeleteResult", results);
  }

  async function getObject(
    client: SandstoreClient,
    r: S3Request,
    res: ServerResponse,
    head: boolean,
  ) {
    const path = objectPath(r.bucket, r.key);
    const stats = await client.stat(path);
    if (!stats.isFile()) throw new S3Error("NoSuchKey", "the specified key does not exist");
    const headers = objectHeaders(stats);
    const etag = String(headers.etag);
    const condition = conditionsHold(r.raw.headers, "", etag, stats.mtimeMs);
    if (!condition.ok) {
      if (condition.status === 304) {
        res.writeHead(304, { etag }).end();
        return;
      }
      res.writeHead(412, { "content-type": "application/xml" });
      res.end(
        head
          ? undefined
          : xmlError(
              "PreconditionFailed",
              "At least one of the pre-conditions you specified did not hold",
              path,
              "",
            ),
      );
      return;
    }
    const answer = answerRange(r.raw.headers.range, stats.size);
    if (answer.kind === "unsatisfiable")
      throw new S3Error("InvalidRange", "the requested range is not satisfiable");
    const [start, end] = answer.kind === "slice" ? [answer.start, answer.end] : [0, stats.size];
    res.writeHead(answer.kind === "slice" ? 206 : 200, {
      ...headers,
      "content-length": end - start,
      ...(answer.kind === "slice" && {
        "content-range": `bytes ${start}-${end - 1}/${stats.size}`,
      }),
    });
    if (head || end === start) {
      res.end();
      return;
    }
    for await (const piece of client.createReadStream(path, { start, end }))
      if (!res.write(piece)) await new Promise((done) => res.once("drain", done));
    res.end();
  }

  // Multipart uploads (s3-multipart.ts).

  async function createMultipart(client: SandstoreClient, r: S3Request, res: ServerResponse) {
    const attributes = attributesFromHeaders(r.raw.headers);
    const uploadId = await inBucket(client, r.bucket, () =>
      createUpload(client, r.bucket, r.key, attributes, r.accessKeyId),
    );
    sendXml(res, 200, "InitiateMultipartUploadResult", [
      ["Bucket", r.bucket],
      ["Key", r.key],
      ["UploadId", uploadId],
    ]);
  }

  async function putPart(
    client: SandstoreClient,
    r: S3Request,
    res: ServerResponse,
    uploadId: string,
  ) {
    const partNumber = partNumberOf(r.query.get("partNumber"));
    const copyHeader = r.raw.headers["x-amz-copy-source"];
    if (typeof copyHeader !== "string") {
      const etag = await inBucket(client, r.bucket, () =>
        uploadPart(client, r.bucket, r.key, uploadId, partNumber, bodyOf(r)),
      );
      res.writeHead(200, { etag: `"${etag}"`, "content-length": 0 }).end();
      return;
    }
    const source = await copySource(client, r, copyHeader);
    const rangeHeader = r.raw.headers["x-amz-copy-source-range"];
    let range = { start: 0, end: source.stats.size };
    if (rangeHeader !== undefined) {
      const match = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader.toString());
      const start = Number(match?.[1]);
      const last = Number(match?.[2]);
      if (!match || last < start || last >= source.stats.size)
        throw new S3Error(
          "InvalidArgument",
          `x-amz-copy-source-range must be bytes=FIRST-LAST within the source's ${source.stats.size} bytes`,
        );
      range = { start, end: last + 1 };
    }
    if (range.end - range.start > MAX_PART_BYTES)
      throw new S3Error("EntityTooLarge", `a part is at most ${MAX_PART_BYTES} bytes`);
    await answerSlowly(res, "CopyPartResult", async () => {
      const body = { source: client.createReadStream(source.path, range), verify() {} };
      const etag = await uploadPart(client, r.bucket, r.key, uploadId, partNumber, body);
      return [
        ["ETag", `"${etag}"`],
        ["LastModified", new Date(now()).toISOString()],
      ];
    });
  }

  async function completeMultipart(
    client: SandstoreClient,
    r: S3Request,
    res: ServerResponse,
    uploadId: string,
  ) {
    const request = await xmlBodyOf(r);
    if (request.name !== "CompleteMultipartUpload")
      throw new S3Error("MalformedXML", "the document is not a CompleteMultipartUpload");
    const parts = childrenNamed(request, "Part").map((part) => ({
      partNumber: partNumberOf(childText(part, "PartNumber")),
      etag: childText(part, "ETag") ?? "",
    }));
    await answerSlowly(res, "CompleteMultipartUploadResult", async () => {
      const etag = await inBucket(client, r.bucket, () =>
        completeUpload(client, r.bucket, r.key, uploadId, parts),
      );
      return [
        ["Location", `/${r.bucket}/${r.key}`],
        ["Bucket", r.bucket],
        ["Key", r.key],
        ["ETag", `"${etag}"`],
      ];
    });
  }

  async function listPartsOf(
    client: SandstoreClient,
    r: S3Request,
    res: ServerResponse,
    uploadId: string,
  ) {
    const marker = Number(r.query.get("part-number-marker") ?? 0);
    const max = Number(r.query.get("max-parts") ?? MAX_KEYS);
    if (!Number.isInteger(marker) || marker < 0 || !Number.isInteger(max) || max < 0)
      throw new S3Error(
        "InvalidArgument",
        "part-number-marker and max-parts must be non-negative integers",
      );
    const listed = await inBucket(client, r.bucket, () =>
      listParts(client, r.bucket, r.key, uploadId, marker, max),
    );
    const lastPart = listed.parts.at(-1)?.partNumber ?? marker;
    sendXml(res, 200, "ListPartsResult", [
      ["Bucket", r.bucket],
      ["Key", r.key],
      ["UploadId", uploadId],
      ["Initiator", [["ID", listed.initiator]]],
      ["Owner", [["ID", listed.initiator]]],
      ["StorageClass", "STANDARD"],
      ["PartNumberMarker", marker],
      ["NextPartNumberMarker", lastPart],
      ["MaxParts", max],
      ["IsTruncated", listed.truncated],
      ...listed.parts.map(
        (p): XmlElement => [
          "Part",
          [
            ["PartNumber", p.partNumber],
            ["LastModified", new Date(p.lastModifiedMs).toISOString()],
            ["ETag", `"${p.etag}"`],
            ["Size", p.size],
          ],
        ],
      ),
    ]);
  }

  async function listMultipart(client: SandstoreClient, r: S3Request, res: ServerResponse) {
    const prefix = r.query.get("prefix") ?? "";
    const keyMarker = r.query.get("key-marker") ?? "";
    const uploadIdMarker = r.query.get("upload-id-marker") ?? "";
    const max = Number(r.query.get("max-uploads") ?? MAX_KEYS);
    if (!Number.isInteger(max) || max < 0)
      throw new S3Error("InvalidArgument", "max-uploads must be a non-negative integer");
    const uploads = await inBucket(client, r.bucket, () => listUploads(client, r.bucket, prefix));
    let from = 0;
    if (keyMarker !== "") {
      const marked = uploads.findIndex((u) => u.key === keyMarker && u.uploadId === uploadIdMarker);
      from =
        uploadIdMarker !== "" && marked >= 0
          ? marked + 1
          : uploads.findIndex(
              (u) => Buffer.compare(Buffer.from(u.key), Buffer.from(keyMarker)) > 0,
            );
      if (from < 0) from = uploads.length;
    }
    const page = uploads.slice(from, from + Math.min(max, MAX_KEYS));
    const truncated = from + page.length < uploads.length;
    const last = page.at(-1);
    sendXml(res, 200, "ListMultipartUploadsResult", [
      ["Bucket", r.bucket],
      ["KeyMarker", keyMarker],
      ["UploadIdMarker", uploadIdMarker],
      ...(truncated && last
        ? [
            ["NextKeyMarker", last.key] as XmlElement,
            ["NextUploadIdMarker", last.uploadId] as XmlElement,
          ]
        : []),
      ["Prefix", prefix],
      ["MaxUploads", max],
      ["IsTruncated", truncated],
      ...page.map(
        (u): XmlElement => [
          "Upload",
          [
            ["Key", u.key],
            ["UploadId", u.uploadId],
            ["Initiator", [["ID", u.initiator]]],
            ["Owner", [["ID", u.initiator]]],
            ["StorageClass", "STANDARD"],
            ["Initiated", new Date(u.initiatedMs).toISOString()],
          ],
        ],
      ),
    ]);
  }

  /** One sweep of every bucket for uploads untouched for `abandonedAgeMs`. */
  async function sweep(): Promise<{ removed: number; failed: number }> {
    const total = { removed: 0, failed: 0 };
    const lister = lastUser;
    if (!lister) return total;
    const cutoffMs = now() - abandonedAgeMs;
    await pool.withClient(lister, async (client) => {
      for (const entry of await client.readdir("/")) {
        if (!entry.stats.isDirectory() || entry.name.startsWith(".")) continue;
        const result = await sweepAbandoned(
          client,
          entry.name,
          cutoffMs,
          async (path, initiator) => {
            if (initiator === undefined) return client.rm(path, { recursive: true });
            const credentials = await credentialsOf(initiator);
            if (!credentials) throw new Error(`the access key ${initiator} is no longer a user's`);
            await pool.withClient(credentials, (own) => own.rm(path, { recursive: true }));
          },
        ).catch(() => ({ removed: 0, failed: 1 }));
        total.removed += result.removed;
        total.failed += result.failed;
      }
    });
    o.onSweep?.(total);
    return total;
  }

  /** Every object key below `prefix` in `bucket`, in S3 order, at most MAX_LISTING_WALK. */
  async function keysUnder(client: SandstoreClient, bucket: string, prefix: string) {
    const keys: Array<{ key: string; stats: Stats }> = [];
    // Start at the deepest directory the prefix names whole: nothing outside it can match.
    const cut = prefix.lastIndexOf("/");
    const start = cut < 0 ? "" : prefix.slice(0, cut);
    const walk = async (dir: string): Promise<void> => {
      const path = dir === "" ? `/${bucket}` : `/${bucket}/${dir}`;
      let entries: Awaited<ReturnType<SandstoreClient["readdir"]>>;
      try {
        entries = await client.readdir(path);
      } catch (error) {
        // A prefix naming no directory lists nothing.
        if (
          error instanceof SandstoreError &&
          (error.code === "ENOENT" || error.code === "ENOTDIR")
        )
          return;
        throw error;
      }
      for (const entry of entries) {
        if (dir === "" && entry.name.startsWith(STAGING_PREFIX)) continue;
        const key = dir === "" ? entry.name : `${dir}/${entry.name}`;
        if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue;
        if (keys.length >= MAX_LISTING_WALK)
          throw new S3Error(
            "InvalidArgument",
            `over ${MAX_LISTING_WALK} keys below this prefix: narrow it`,
          );
        if (entry.stats.isDirectory()) await walk(key);
        else if (entry.stats.isFile()) keys.push({ key, stats: entry.stats });
      }
    };
    await walk(start);
    return keys.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  }

  async function listObjects(client: SandstoreClient, r: S3Request, res: ServerResponse) {
    await bucketExists(client, r.bucket);
    const v2 = r.query.get("list-type") === "2";
    const prefix = r.query.get("prefix") ?? "";
    const delimiter = r.query.get("delimiter") ?? "";
    const maxKeysText = r.query.get("max-keys");
    const maxKeys = maxKeysText === undefined ? MAX_KEYS : Number(maxKeysText);
    if (!Number.isInteger(maxKeys) || maxKeys < 0)
      throw new S3Error("InvalidArgument", "max-keys must be a non-negative integer");
    const token = r.query.get("continuation-token");
    const after = v2
      ? token !== undefined
        ? Buffer.from(token, "base64url").toString()
        : (r.query.get("start-after") ?? "")
      : (r.query.get("marker") ?? "");
    const contents: XmlElement[] = [];
    const prefixes: XmlElement[] = [];
    let count = 0;
    let last = "";
    let truncated = false;
    const seenPrefixes = new Set<string>();
    for (const { key, stats } of await keysUnder(client, r.bucket, prefix)) {
      if (after !== "" && Buffer.compare(Buffer.from(key), Buffer.from(after)) <= 0) continue;
      const rest = key.slice(prefix.length);
      const cut = delimiter === "" ? -1 : rest.indexOf(delimiter);
      const common = cut < 0 ? undefined : prefix + rest.slice(0, cut + delimiter.length);
      if (common !== undefined && seenPrefixes.has(common)) continue;
      if (common !== undefined && after !== "" && after.startsWith(common)) continue;
      if (count === Math.min(maxKeys, MAX_KEYS)) {
        truncated = true;
        break;
      }
      count++;
      if (common !== undefined) {
        seenPrefixes.add(common);
        prefixes.push(["CommonPrefixes", [["Prefix", common]]]);
        last = common;
      } else {
        contents.push([
          "Contents",
          [
            ["Key", key],
            ["LastModified", new Date(stats.mtimeMs).toISOString()],
            ["ETag", etagOf(stats)],
            ["Size", stats.size],
            ["StorageClass", "STANDARD"],
          ],
        ]);
        last = key;
      }
    }
    const common: XmlElement[] = [
      ["Name", r.bucket],
      ["Prefix", prefix],
      ...(delimiter ? [["Delimiter", delimiter] as XmlElement] : []),
      ["MaxKeys", maxKeys],
      ["IsTruncated", truncated],
    ];
    const paging: XmlElement[] = v2
      ? [
          ["KeyCount", count],
          ...(token !== undefined ? [["ContinuationToken", token] as XmlElement] : []),
          ...(truncated
            ? [["NextContinuationToken", Buffer.from(last).toString("base64url")] as XmlElement]
            : []),
        ]
      : [["Marker", after], ...(truncated ? [["NextMarker", last] as XmlElement] : [])];
    sendXml(res, 200, "ListBucketResult", [...common, ...paging, ...contents, ...prefixes]);
  }

  async function route(client: SandstoreClient, r: S3Request, res: ServerResponse) {
    const method = r.raw.method ?? "GET";
    if (r.bucket === "") {
      if (method === "GET") return listBuckets(client, res);
      throw new S3Error("MethodNotAllowed", `${method} / is not an S3 operation`);
    }
    checkBucketName(r.bucket);
    for (const sub of [
      "versioning",
      "versions",
      "acl",
      "policy",
      "lifecycle",
      "tagging",
      "object-lock",
      "retention",
      "legal-hold",
    ])
      if (r.query.has(sub))
        throw new S3Error("NotImplemented", `?${sub} is not served (docs/s3.md)`);
    if (r.key === "") {
      if (method === "GET" && r.query.has("location")) {
        await bucketExists(client, r.bucket);
        sendXml(res, 200, "LocationConstraint", []);
        return;
      }
      if (method === "GET" && r.query.has("uploads")) return listMultipart(client, r, res);
      if (method === "GET") return listObjects(client, r, res);
      if (method === "POST" && r.query.has("delete")) return deleteObjects(client, r, res);
      if (method === "HEAD") {
        await bucketExists(client, r.bucket);
        res.writeHead(200, { "x-amz-bucket-region": o.region }).end();
        return;
      }
      if (method === "PUT") {
        try {
          await client.mkdir(`/${r.bucket}`);
        } catch (error) {
          if (error instanceof SandstoreError && error.code === "EEXIST")
            throw new S3Error(
              "BucketAlreadyOwnedByYou",
              "your previous request to create the named bucket succeeded and you already own it",
            );
          throw error;
        }
        r.raw.resume();
        res.writeHead(200, { location: `/${r.bucket}`, "content-length": 0 }).end();
        return;
      }
      if (method === "DELETE") {
        await bucketExists(client, r.bucket);
        await client.rmdir(`/${r.bucket}`);
        res.writeHead(204).end();
        return;
      }
      throw new S3Error("MethodNotAllowed", `${method} on a bucket is not an S3 operation`);
    }
    checkKey(r.key);
    const uploadId = r.query.get("uploadId");
    if (method === "POST" && r.query.has("uploads")) return createMultipart(client, r, res);
    if (uploadId !== undefined) {
      if (method === "PUT") return putPart(client, r, res, uploadId);
      if (method === "POST") return completeMultipart(client, r, res, uploadId);
      if (method === "GET") return listPartsOf(client, r, res, uploadId);
      if (method === "DELETE") {
        await inBucket(client, r.bucket, () => abortUpload(client, r.bucket, r.key, uploadId));
        res.writeHead(204).end();
        return;
      }
      throw new S3Error("MethodNotAllowed", `${method} on an upload is not an S3 operation`);
    }
    if (method === "PUT") {
      const copyHeader = r.raw.headers["x-amz-copy-source"];
      if (typeof copyHeader === "string") return copyObject(client, r, res, copyHeader);
      return inBucket(client, r.bucket, () => putObject(client, r, res));
    }
    if (method === "GET") return inBucket(client, r.bucket, () => getObject(client, r, res, false));
    if (method === "HEAD") return inBucket(client, r.bucket, () => getObject(client, r, res, true));
    if (method === "DELETE") {
      await deleteObject(client, r.bucket, r.key);
      res.writeHead(204).end();
      return;
    }
    throw new S3Error("MethodNotAllowed", `${method} on an object is not an S3 operation`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? "/";
    const path = url.split("?")[0] ?? "/";
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    res.setHeader("x-amz-request-id", requestId);
    let key = "";
    try {
      const slash = path.indexOf("/", 1);
      const bucket = decodeURIComponent(slash < 0 ? path.slice(1) : path.slice(1, slash));
      key = slash < 0 ? "" : decodeURIComponent(path.slice(slash + 1));
      const { credentials, payloadHash, signing } = await authenticate(req);
      const query = new Map(queryPairs(url));
      const r = {
        raw: req,
        bucket,
        key,
        query,
        payloadHash,
        signing,
        accessKeyId: credentials.accessKeyId,
      };
      await pool.withClient(credentials, (client) => route(client, r, res));
    } catch (error) {
      const s3 =
        error instanceof URIError
          ? new S3Error("InvalidArgument", "the path is not valid percent-encoding")
          : s3ErrorOf(error, key);
      const failure = s3 ?? new S3Error("InternalError", "we encountered an internal error");
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // The body a client sends with a refused request is not read: drop it.
      req.resume();
      const body =
        req.method === "HEAD" ? "" : xmlError(failure.code, failure.message, path, requestId);
      res.writeHead(failure.status, {
        "content-type": "application/xml",
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  const colon = o.listen.lastIndexOf(":");
  const host = o.listen.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(Number(o.listen.slice(colon + 1)), host, () => done());
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : 0;
  // A sweep a quarter of the age apart, at most hourly: an upload goes within 1.25x its age.
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweeper = setInterval(
    () => {
      sweeping = sweep().catch(() => o.onSweep?.({ removed: 0, failed: 1 }));
    },
    Math.max(1000, Math.min(abandonedAgeMs / 4, 3600_000)),
  );
  sweeper.unref();
  return {
    address: `${o.listen.slice(0, colon)}:${port}`,
    sweep,
    async close() {
      clearInterval(sweeper);
      await sweeping;
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await pool.close();
    },
  };
}

function sendXml(res: ServerResponse, status: number, root: string, children: XmlElement[]) {
  const body = xmlDocument(root, children);
  res.writeHead(status, {
    "content-type": "application/xml",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
