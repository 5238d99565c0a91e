/**
 * Objects as files, for the S3 gateway: where an object's bytes are staged, how they are
 * written, checked and published whole, and where its S3 attributes (ETag, type, stored
 * headers, user metadata) live: extended attributes under `user.s3.`.
 *
 * An object appears whole or not at all. Its bytes go to a hidden file in its bucket (a name
 * no key can take), are checked against what the client declared, made durable, given their
 * attributes, and renamed into place: one metadata commit. A refused or failed write removes
 * the staged file.
 */
import { createHash, randomBytes } from "node:crypto";
import type { SandstoreClient, Stats } from "../../client/sandstore-client.ts";
import { O_CREAT, O_EXCL, O_WRONLY } from "../../client/sandstore-client.ts";
import { SandstoreError } from "../../common/errors.ts";
import { S3Error } from "./s3-errors.ts";

/** Names of staged files and of multipart uploads begin so; no key may (`checkKey`). */
export const STAGING_PREFIX = ".sandstore-upload-";
/** Extended attributes an object's S3 attributes live in. */
export const ETAG_XATTR = "user.s3.etag";
export const TYPE_XATTR = "user.s3.content-type";
export const META_XATTR = "user.s3.meta.";
export const HEADER_XATTR = "user.s3.header.";
/** The standard headers an object keeps and answers with, as S3's. */
export const STORED_HEADERS = [
  "cache-control",
  "content-disposition",
  "content-encoding",
  "content-language",
  "expires",
] as const;
/** An object's type when its writer named none, as S3's. */
export const DEFAULT_CONTENT_TYPE = "binary/octet-stream";
/** Largest single PUT, as S3's: 5 GiB. */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;
/** Most bytes of user metadata (`x-amz-meta-*`) an object carries, as S3's 2 KiB. */
const MAX_USER_METADATA_BYTES = 2048;
/** Bytes gathered before one write to the cluster: a chunk's worth, bounded memory. */
const WRITE_BATCH_BYTES = 8 * 1024 * 1024;

/** The path of `key` in `bucket`. */
export const objectPath = (bucket: string, key: string) => `/${bucket}/${key}`;

/** A fresh staging path in `bucket`'s directory, or in `dir` when given. */
export function stagingPath(bucket: string, dir = `/${bucket}`): string {
  return `${dir}/${STAGING_PREFIX}${randomBytes(12).toString("hex")}`;
}

/** Keys as file paths below their bucket; InvalidArgument naming why for others. */
export function checkKey(key: string): void {
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

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/**
 * An object's attributes from a request's headers, as the extended attributes they are kept
 * in: its type, the stored standard headers and its user metadata. InvalidArgument for user
 * metadata over S3's 2 KiB.
 */
export function attributesFromHeaders(headers: Headers): Record<string, string> {
  const attributes: Record<string, string> = {
    [TYPE_XATTR]:
      typeof headers["content-type"] === "string" ? headers["content-type"] : DEFAULT_CONTENT_TYPE,
  };
  for (const name of STORED_HEADERS) {
    let value = headers[name];
    // aws-chunked is how the body came, not what the object is.
    if (name === "content-encoding" && typeof value === "string")
      value = value
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v !== "" && v !== "aws-chunked")
        .join(",");
    if (typeof value === "string" && value !== "") attributes[`${HEADER_XATTR}${name}`] = value;
  }
  let metadataBytes = 0;
  for (const [name, value] of Object.entries(headers))
    if (name.startsWith("x-amz-meta-") && typeof value === "string") {
      attributes[`${META_XATTR}${name.slice("x-amz-meta-".length)}`] = value;
      metadataBytes += name.length - "x-amz-meta-".length + value.length;
    }
  if (metadataBytes > MAX_USER_METADATA_BYTES)
    throw new S3Error("InvalidArgument", `user metadata over ${MAX_USER_METADATA_BYTES} bytes`);
  return attributes;
}

/** The attributes `stats` carries that an object's copy keeps: all but the ETag. */
export function copiedAttributes(stats: Stats): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(stats.xattrs))
    if (name.startsWith("user.s3.") && name !== ETAG_XATTR) attributes[name] = value.toString();
  return attributes;
}

/** An object's ETag as S3 quotes it. */
export const etagOf = (stats: Stats) => `"${stats.xattrs[ETAG_XATTR]?.toString() ?? ""}"`;

/** The headers an object is answered with: ETag, dates, type, stored headers, metadata. */
export function objectHeaders(stats: Stats): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    etag: etagOf(stats),
    "last-modified": new Date(stats.mtimeMs).toUTCString(),
    "content-type": stats.xattrs[TYPE_XATTR]?.toString() ?? DEFAULT_CONTENT_TYPE,
    "accept-ranges": "bytes",
  };
  for (const [name, value] of Object.entries(stats.xattrs)) {
    if (name.startsWith(META_XATTR))
      headers[`x-amz-meta-${name.slice(META_XATTR.length)}`] = value.toString();
    else if (name.startsWith(HEADER_XATTR))
      headers[name.slice(HEADER_XATTR.length)] = value.toString();
  }
  return headers;
}

/** Bytes on their way into an object, and what must hold of them once all have come. */
export interface ObjectBody {
  readonly source: AsyncIterable<Buffer>;
  /** Throws the S3Error that refuses the bytes, given their MD5; called after the last. */
  verify(md5: Buffer): void;
}

/** What a staged file received. */
export interface Staged {
  readonly md5: Buffer;
  readonly size: number;
}

/**
 * Writes `body` to a new file at `path`, checks it, and makes it durable. `limit` bounds its
 * bytes (EntityTooLarge past it). Any failure removes the file and passes the error on.
 */
export async function stageBytes(
  client: SandstoreClient,
  path: string,
  body: ObjectBody,
  limit: number,
): Promise<Staged> {
  const md5 = createHash("md5");
  const fd = await client.open(path, O_CREAT | O_EXCL | O_WRONLY, 0o644);
  let open = true;
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let size = 0;
    for await (const piece of body.source) {
      md5.update(piece);
      size += piece.length;
      if (size > limit)
        throw new S3Error("EntityTooLarge", `the body is over its limit of ${limit} bytes`);
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
    body.verify(digest);
    await client.fsync(fd);
    open = false;
    await client.close(fd);
    return { md5: digest, size };
  } catch (error) {
    if (open) await client.close(fd).catch(() => undefined);
    await discard(client, path);
    throw error;
  }
}

/**
 * Removes a staged file that will not be published. A failure to is not the request's: the
 * refusal that led here is the answer, and what is left is a hidden file that no listing
 * shows and that is removed with its bucket's next abandoned-upload sweep.
 */
export async function discard(client: SandstoreClient, path: string): Promise<void> {
  await client.unlink(path).catch(() => undefined);
}

/**
 * Publishes the staged file at `staging` as `key` in `bucket` with `attributes` (which must
 * hold its ETag), replacing any object there. A failure removes the staged file.
 */
export async function publishObject(
  client: SandstoreClient,
  staging: string,
  bucket: string,
  key: string,
  attributes: Readonly<Record<string, string>>,
): Promise<void> {
  try {
    await client.setxattrs(staging, attributes);
    const at = key.lastIndexOf("/");
    const place = async () => {
      if (at > 0) await client.mkdir(`/${bucket}/${key.slice(0, at)}`, { recursive: true });
      await client.rename(staging, objectPath(bucket, key));
    };
    // A delete of the last key under this prefix may remove the directory between the two
    // steps (deletes tidy empty directories away): once more then.
    await place().catch(async (error: unknown) => {
      if (!(error instanceof SandstoreError && error.code === "ENOENT")) throw error;
      await place();
    });
  } catch (error) {
    await discard(client, staging);
    throw error;
  }
}

/**
 * Deletes `key` from `bucket`; a key that is not there is deleted already, as in S3. The
 * directories it leaves empty go too: a prefix exists while a key has it.
 */
export async function deleteObject(client: SandstoreClient, bucket: string, key: string) {
  await client.unlink(objectPath(bucket, key)).catch(async (error: unknown) => {
    if (!(error instanceof SandstoreError && (error.code === "ENOENT" || error.code === "ENOTDIR")))
      throw error;
    // No such key is a success; no such bucket is not.
    const there = await client.stat(`/${bucket}`).then(
      (stats) => stats.isDirectory(),
      (statError: unknown) => {
        if (statError instanceof SandstoreError && statError.code === "ENOENT") return false;
        throw statError;
      },
    );
    if (!there) throw new S3Error("NoSuchBucket", `${bucket} is not a bucket`);
  });
  const parts = key.split("/").slice(0, -1);
  for (let n = parts.length; n > 0; n--) {
    const emptied = await client
      .rmdir(`/${bucket}/${parts.slice(0, n).join("/")}`)
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
}
