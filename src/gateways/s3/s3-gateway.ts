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
import { O_CREAT, O_EXCL, O_WRONLY } from "../../client/sandstore-client.ts";
import { SandstoreError, UnavailableError } from "../../common/errors.ts";
import type { UserRecord } from "../../gen/sandstore/v1/metadata.ts";
import type { ClientCredentials } from "../../transport/file-service-api.ts";
import { answerRange } from "../http/byte-range.ts";
import { ClientPool } from "../http/client-pool.ts";
import { S3Error } from "./s3-errors.ts";
import { type XmlElement, xmlDocument, xmlError } from "./s3-xml.ts";
import { queryPairs, signatureClaim, UNSIGNED_PAYLOAD, verifySignature } from "./sigv4.ts";

/** Where an object's bytes are staged: a name no S3 key can take (keys never start so). */
const STAGING_PREFIX = ".sandstore-upload-";
/** Extended attributes an object's S3 metadata lives in. */
const ETAG_XATTR = "user.s3.etag";
const TYPE_XATTR = "user.s3.content-type";
const META_XATTR = "user.s3.meta.";
/** Largest single PUT, as S3's: 5 GiB. */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;
/** Bytes a PUT gathers before one write to the cluster: a chunk's worth, bounded memory. */
const WRITE_BATCH_BYTES = 8 * 1024 * 1024;
/** Most keys a listing page holds, as S3's. */
const MAX_KEYS = 1000;
/**
 * Most entries one listing walks: a listing sorts the keys below a prefix's directory, so a
 * bucket far larger than this needs a narrower prefix (or the v2 listing of a later step).
 */
const MAX_LISTING_WALK = 100_000;
/** Most bytes of user metadata (`x-amz-meta-*`) an object carries, as S3's 2 KiB. */
const MAX_USER_METADATA_BYTES = 2048;

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
  /** The clock signatures are checked against; injectable for tests. */
  readonly now?: () => number;
}

export interface S3Gateway {
  /** `host:port` it listens on, with the real port. */
  readonly address: string;
  close(): Promise<void>;
}

/** Bucket names as S3 allows them: 3 to 63 lower-case letters, digits, dots and hyphens. */
function checkBucketName(name: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes(".."))
    throw new S3Error("InvalidBucketName", `"${name}" is not a valid bucket name`);
}

/** A key as a path below its bucket; keys that are not file paths are not served yet. */
function checkKey(key: string): void {
  const segments = key.split("/");
  if (
    Buffer.byteLength(key) > 1024 ||
    segments.some((s) => s === "" || s === "." || s === ".." || Buffer.byteLength(s) > 255) ||
    key.startsWith(STAGING_PREFIX) ||
    key.includes("\0")
  )
    throw new S3Error(
      "InvalidArgument",
      `the key "${key}" is not a file path (empty, "." or ".." parts, a trailing "/", or over 255 bytes a part): such keys are not served yet`,
    );
}

const etagOf = (stats: Stats) => {
  const stored = stats.xattrs[ETAG_XATTR];
  return `"${stored ? stored.toString() : ""}"`;
};

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

/** One request, parsed: the bucket and key from the path, the query. */
interface S3Request {
  readonly raw: IncomingMessage;
  readonly bucket: string;
  readonly key: string;
  readonly query: ReadonlyMap<string, string>;
  readonly payloadHash: string;
}

/** Starts the gateway. */
export async function startS3Gateway(o: S3GatewayOptions): Promise<S3Gateway> {
  const now = o.now ?? Date.now;
  const pool = new ClientPool((credentials) =>
    o.connect(credentials ?? { accessKeyId: "", secret: "" }),
  );

  async function authenticate(request: IncomingMessage): Promise<{
    credentials: ClientCredentials;
    payloadHash: string;
  }> {
    const signed = {
      method: request.method ?? "GET",
      url: request.url ?? "/",
      headers: request.headers,
    };
    const claim = signatureClaim(signed, now());
    if (!claim) throw new S3Error("AccessDenied", "anonymous requests are not served");
    const user = await o.userByAccessKey(claim.accessKeyId);
    if (!user)
      throw new S3Error(
        "InvalidAccessKeyId",
        "the access key you provided does not exist in our records",
      );
    const secret = o.secretOf(user.accessKeyId, user.salt);
    verifySignature(signed, claim, secret);
    return {
      credentials: { accessKeyId: user.accessKeyId, secret },
      payloadHash: claim.payloadHash,
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
    if (declared !== undefined && Number(declared) > MAX_PUT_BYTES)
      throw new S3Error("InvalidArgument", `a single PUT is at most ${MAX_PUT_BYTES} bytes`);
    const metadata: Record<string, string> = {};
    let metadataBytes = 0;
    for (const [name, value] of Object.entries(r.raw.headers))
      if (name.startsWith("x-amz-meta-") && typeof value === "string") {
        metadata[`${META_XATTR}${name.slice("x-amz-meta-".length)}`] = value;
        metadataBytes += name.length + value.length;
      }
    if (metadataBytes > MAX_USER_METADATA_BYTES)
      throw new S3Error("InvalidArgument", `user metadata over ${MAX_USER_METADATA_BYTES} bytes`);
    const staging = `/${r.bucket}/${STAGING_PREFIX}${randomBytes(12).toString("hex")}`;
    const md5 = createHash("md5");
    const sha256 = createHash("sha256");
    const fd = await client.open(staging, O_CREAT | O_EXCL | O_WRONLY, 0o644);
    let closed = false;
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let total = 0;
      for await (const piece of r.raw as AsyncIterable<Buffer>) {
        md5.update(piece);
        sha256.update(piece);
        total += piece.length;
        if (total > MAX_PUT_BYTES)
          throw new S3Error("InvalidArgument", `a single PUT is at most ${MAX_PUT_BYTES} bytes`);
        pending.push(piece);
        pendingBytes += piece.length;
        if (pendingBytes >= WRITE_BATCH_BYTES) {
          await client.write(fd, Buffer.concat(pending));
          pending = [];
          pendingBytes = 0;
        }
      }
      if (pendingBytes > 0) await client.write(fd, Buffer.concat(pending));
      const digest = md5.digest();
      const contentMd5 = r.raw.headers["content-md5"];
      if (contentMd5 !== undefined && contentMd5 !== digest.toString("base64"))
        throw new S3Error(
          "BadDigest",
          "the Content-MD5 you specified did not match what we received",
        );
      if (r.payloadHash !== UNSIGNED_PAYLOAD && r.payloadHash !== sha256.digest("hex"))
        throw new S3Error(
          "XAmzContentSHA256Mismatch",
          "the provided x-amz-content-sha256 header does not match what was computed",
        );
      await client.fsync(fd);
      await client.close(fd);
      closed = true;
      const etag = digest.toString("hex");
      await client.setxattrs(staging, {
        [ETAG_XATTR]: etag,
        [TYPE_XATTR]: r.raw.headers["content-type"] ?? "binary/octet-stream",
        ...metadata,
      });
      const at = r.key.lastIndexOf("/");
      const place = async () => {
        if (at > 0) await client.mkdir(`/${r.bucket}/${r.key.slice(0, at)}`, { recursive: true });
        await client.rename(staging, `/${r.bucket}/${r.key}`);
      };
      // A delete of the last key under this prefix may remove the directory between the two
      // steps (deletes tidy empty directories away): once more then.
      await place().catch(async (error: unknown) => {
        if (!(error instanceof SandstoreError && error.code === "ENOENT")) throw error;
        await place();
      });
      res.writeHead(200, { etag: `"${etag}"`, "content-length": 0 }).end();
    } catch (error) {
      if (!closed) await client.close(fd).catch(() => undefined);
      // The staged bytes go; the refusal is the answer, and a failed removal leaves a
      // hidden file that no listing shows.
      await client.unlink(staging).catch(() => undefined);
      throw error;
    }
  }

  function objectHeaders(stats: Stats): Record<string, string | number> {
    const headers: Record<string, string | number> = {
      etag: etagOf(stats),
      "last-modified": new Date(stats.mtimeMs).toUTCString(),
      "content-type": stats.xattrs[TYPE_XATTR]?.toString() ?? "binary/octet-stream",
      "accept-ranges": "bytes",
    };
    for (const [name, value] of Object.entries(stats.xattrs))
      if (name.startsWith(META_XATTR))
        headers[`x-amz-meta-${name.slice(META_XATTR.length)}`] = value.toString();
    return headers;
  }

  async function getObject(
    client: SandstoreClient,
    r: S3Request,
    res: ServerResponse,
    head: boolean,
  ) {
    const path = `/${r.bucket}/${r.key}`;
    const stats = await client.stat(path);
    if (!stats.isFile()) throw new S3Error("NoSuchKey", "the specified key does not exist");
    const headers = objectHeaders(stats);
    const etag = String(headers.etag);
    const ifMatch = r.raw.headers["if-match"];
    const ifNoneMatch = r.raw.headers["if-none-match"];
    if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== etag) {
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
    if (ifNoneMatch !== undefined && (ifNoneMatch === "*" || ifNoneMatch === etag)) {
      res.writeHead(304, { etag }).end();
      return;
    }
    const since = r.raw.headers["if-modified-since"];
    if (since !== undefined && ifNoneMatch === undefined) {
      const at = Date.parse(since);
      if (!Number.isNaN(at) && Math.floor(stats.mtimeMs / 1000) * 1000 <= at) {
        res.writeHead(304, { etag }).end();
        return;
      }
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
      "uploads",
      "uploadId",
      "versioning",
      "acl",
      "policy",
      "lifecycle",
      "tagging",
    ])
      if (r.query.has(sub))
        throw new S3Error("NotImplemented", `?${sub} is not served yet (docs/s3.md)`);
    if (r.key === "") {
      if (method === "GET" && r.query.has("location")) {
        await bucketExists(client, r.bucket);
        sendXml(res, 200, "LocationConstraint", []);
        return;
      }
      if (method === "GET") return listObjects(client, r, res);
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
    if (method === "PUT") {
      if (r.raw.headers["x-amz-copy-source"] !== undefined)
        throw new S3Error("NotImplemented", "CopyObject is not served yet (docs/s3.md)");
      if (r.payloadHash.startsWith("STREAMING-"))
        throw new S3Error(
          "NotImplemented",
          `${r.payloadHash} bodies are not served yet (docs/s3.md)`,
        );
      return inBucket(client, r.bucket, () => putObject(client, r, res));
    }
    if (method === "GET") return inBucket(client, r.bucket, () => getObject(client, r, res, false));
    if (method === "HEAD") return inBucket(client, r.bucket, () => getObject(client, r, res, true));
    if (method === "DELETE") {
      // Deleting a key that is not there succeeds, as in S3 (in a bucket that is).
      await inBucket(client, r.bucket, () => client.unlink(`/${r.bucket}/${r.key}`)).catch(
        (error: unknown) => {
          if (!(error instanceof SandstoreError && error.code === "ENOENT")) throw error;
        },
      );
      // A prefix exists while a key has it, as in S3: the directories the key emptied go.
      const parts = r.key.split("/").slice(0, -1);
      for (let n = parts.length; n > 0; n--) {
        const emptied = await client
          .rmdir(`/${r.bucket}/${parts.slice(0, n).join("/")}`)
          .then(() => true)
          .catch((error: unknown) => {
            if (
              error instanceof SandstoreError &&
              ["ENOTEMPTY", "ENOENT", "ENOTDIR"].includes(error.code)
            )
              return false;
            throw error;
          });
        if (!emptied) break;
      }
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
      const { credentials, payloadHash } = await authenticate(req);
      const query = new Map(queryPairs(url));
      await pool.withClient(credentials, (client) =>
        route(client, { raw: req, bucket, key, query, payloadHash }, res),
      );
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
  return {
    address: `${o.listen.slice(0, colon)}:${port}`,
    async close() {
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
