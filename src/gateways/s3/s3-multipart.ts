/**
 * S3's multipart uploads, as files: an upload is a hidden directory in its bucket
 * (`.sandstore-upload-mp-ID`) that holds the object's key, attributes and initiator as
 * extended attributes, and one file per part (`00001`...). Completing one writes the parts,
 * in order, into a staged file, which is published as any object is (s3-objects.ts): whole or
 * not at all. Its ETag is S3's: the MD5 of the parts' MD5s, `-` and the number of parts.
 *
 * The cost of that: completing copies the object's bytes once more inside the cluster (the
 * store has no operation that joins files), which docs/s3.md states.
 *
 * Limits, as S3's: part numbers 1 to 10,000; a part at most 5 GiB and, but for the last, at
 * least 5 MiB; listings of at most 1,000 parts or uploads a page.
 */
import { createHash, randomBytes } from "node:crypto";
import type { SandstoreClient } from "../../client/sandstore-client.ts";
import { SandstoreError } from "../../common/errors.ts";
import { S3Error } from "./s3-errors.ts";
import {
  ETAG_XATTR,
  type ObjectBody,
  publishObject,
  STAGING_PREFIX,
  stageBytes,
  stagingPath,
} from "./s3-objects.ts";

/** Upload directories' names begin so (and so are staged names: never listed as keys). */
export const UPLOAD_PREFIX = `${STAGING_PREFIX}mp-`;
const KEY_XATTR = "user.s3.upload.key";
const INITIATOR_XATTR = "user.s3.upload.initiator";
export const MAX_PART_NUMBER = 10_000;
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PART_BYTES = 5 * 1024 ** 3;
/** Largest object a multipart upload makes, as S3's: 5 TiB. */
const MAX_OBJECT_BYTES = 5 * 1024 ** 4;
const MAX_LISTED = 1000;

/** An upload in progress. */
export interface Upload {
  readonly key: string;
  readonly uploadId: string;
  /** The access key that began it. */
  readonly initiator: string;
  readonly initiatedMs: number;
}

/** A part uploaded. */
export interface Part {
  readonly partNumber: number;
  readonly etag: string;
  readonly size: number;
  readonly lastModifiedMs: number;
}

const uploadDir = (bucket: string, uploadId: string) => `/${bucket}/${UPLOAD_PREFIX}${uploadId}`;
const partName = (partNumber: number) => String(partNumber).padStart(5, "0");
const noSuchUpload = () =>
  new S3Error(
    "NoSuchUpload",
    "the specified upload does not exist: its ID may be wrong, or it was completed or aborted",
  );

/** `text` as a part number; InvalidArgument otherwise. */
export function partNumberOf(text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PART_NUMBER)
    throw new S3Error(
      "InvalidArgument",
      `partNumber must be an integer from 1 to ${MAX_PART_NUMBER}`,
    );
  return n;
}

/**
 * The upload `uploadId` of `key` in `bucket`: NoSuchUpload when there is none (an ID that is
 * not one of ours included, so it never reaches a path).
 */
async function uploadOf(client: SandstoreClient, bucket: string, key: string, uploadId: string) {
  if (!/^[0-9a-f]{32}$/.test(uploadId)) throw noSuchUpload();
  const dir = uploadDir(bucket, uploadId);
  const stats = await client.stat(dir).catch((error: unknown) => {
    if (error instanceof SandstoreError && error.code === "ENOENT") throw noSuchUpload();
    throw error;
  });
  if (!stats.isDirectory() || stats.xattrs[KEY_XATTR]?.toString() !== key) throw noSuchUpload();
  return { dir, stats };
}

/**
 * Begins an upload of `key` with the object's `attributes`, for `initiator`: its ID. The
 * directory is made under a staging name and renamed, so an upload is listed whole or not.
 */
export async function createUpload(
  client: SandstoreClient,
  bucket: string,
  key: string,
  attributes: Readonly<Record<string, string>>,
  initiator: string,
): Promise<string> {
  const uploadId = randomBytes(16).toString("hex");
  const staging = stagingPath(bucket);
  await client.mkdir(staging, { mode: 0o700 });
  try {
    await client.setxattrs(staging, {
      ...attributes,
      [KEY_XATTR]: key,
      [INITIATOR_XATTR]: initiator,
    });
    await client.rename(staging, uploadDir(bucket, uploadId));
  } catch (error) {
    await client.rmdir(staging).catch(() => undefined);
    throw error;
  }
  return uploadId;
}

/** Stores part `partNumber` of an upload from `body`, replacing an earlier one: its ETag. */
export async function uploadPart(
  client: SandstoreClient,
  bucket: string,
  key: string,
  uploadId: string,
  partNumber: number,
  body: ObjectBody,
): Promise<string> {
  const { dir } = await uploadOf(client, bucket, key, uploadId);
  const staging = stagingPath(bucket, dir);
  const staged = await stageBytes(client, staging, body, MAX_PART_BYTES);
  const etag = staged.md5.toString("hex");
  try {
    await client.setxattrs(staging, { [ETAG_XATTR]: etag });
    await client.rename(staging, `${dir}/${partName(partNumber)}`);
  } catch (error) {
    await client.unlink(staging).catch(() => undefined);
    throw error;
  }
  return etag;
}

async function partsOf(client: SandstoreClient, dir: string): Promise<Part[]> {
  const parts: Part[] = [];
  for (const entry of await client.readdir(dir))
    if (/^\d{5}$/.test(entry.name) && entry.stats.isFile())
      parts.push({
        partNumber: Number(entry.name),
        etag: entry.stats.xattrs[ETAG_XATTR]?.toString() ?? "",
        size: entry.stats.size,
        lastModifiedMs: entry.stats.mtimeMs,
      });
  return parts.sort((a, b) => a.partNumber - b.partNumber);
}

/** The parts of an upload after `marker`, at most `max` (and 1,000), and whether more are. */
export async function listParts(
  client: SandstoreClient,
  bucket: string,
  key: string,
  uploadId: string,
  marker: number,
  max: number,
): Promise<{ parts: Part[]; truncated: boolean; initiator: string }> {
  const { dir, stats } = await uploadOf(client, bucket, key, uploadId);
  const after = (await partsOf(client, dir)).filter((p) => p.partNumber > marker);
  const limit = Math.min(max, MAX_LISTED);
  return {
    parts: after.slice(0, limit),
    truncated: after.length > limit,
    initiator: stats.xattrs[INITIATOR_XATTR]?.toString() ?? "",
  };
}

/** A part as CompleteMultipartUpload names it. */
export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
}

/**
 * Completes an upload from `requested`, which must name uploaded parts with their ETags in
 * ascending order (InvalidPart, InvalidPartOrder), each but the last at least 5 MiB
 * (EntityTooSmall): the object's ETag. The upload is gone once the object is published.
 */
export async function completeUpload(
  client: SandstoreClient,
  bucket: string,
  key: string,
  uploadId: string,
  requested: readonly CompletedPart[],
): Promise<string> {
  const { dir, stats } = await uploadOf(client, bucket, key, uploadId);
  if (requested.length === 0)
    throw new S3Error("MalformedXML", "CompleteMultipartUpload must name at least one part");
  const uploaded = new Map((await partsOf(client, dir)).map((p) => [p.partNumber, p]));
  const chosen: Part[] = [];
  for (const [i, want] of requested.entries())
    if (i > 0 && want.partNumber <= (requested[i - 1]?.partNumber ?? 0))
      throw new S3Error("InvalidPartOrder", "the list of parts was not in ascending order");
  for (const [i, want] of requested.entries()) {
    const part = uploaded.get(want.partNumber);
    if (!part || part.etag !== want.etag.replace(/^"|"$/g, ""))
      throw new S3Error(
        "InvalidPart",
        `part ${want.partNumber} was not uploaded, or its ETag is not ${want.etag}`,
      );
    if (i < requested.length - 1 && part.size < MIN_PART_BYTES)
      throw new S3Error(
        "EntityTooSmall",
        `part ${want.partNumber} is ${part.size} bytes: every part but the last must be at least ${MIN_PART_BYTES}`,
      );
    chosen.push(part);
  }
  const md5s = createHash("md5");
  for (const part of chosen) md5s.update(Buffer.from(part.etag, "hex"));
  const etag = `${md5s.digest("hex")}-${chosen.length}`;
  async function* joined() {
    for (const part of chosen)
      for await (const piece of client.createReadStream(`${dir}/${partName(part.partNumber)}`))
        yield piece as Buffer;
  }
  const staging = stagingPath(bucket);
  const staged = await stageBytes(
    client,
    staging,
    { source: joined(), verify() {} },
    MAX_OBJECT_BYTES,
  );
  const expected = chosen.reduce((sum, p) => sum + p.size, 0);
  if (staged.size !== expected) {
    await client.unlink(staging).catch(() => undefined);
    throw new S3Error("InvalidPart", "a part changed while the upload was completed");
  }
  const attributes: Record<string, string> = { [ETAG_XATTR]: etag };
  for (const [name, value] of Object.entries(stats.xattrs))
    if (name !== KEY_XATTR && name !== INITIATOR_XATTR) attributes[name] = value.toString();
  await publishObject(client, staging, bucket, key, attributes);
  await client.rm(dir, { recursive: true });
  return etag;
}

/** Aborts an upload: its parts go. NoSuchUpload when there is none. */
export async function abortUpload(
  client: SandstoreClient,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<void> {
  const { dir } = await uploadOf(client, bucket, key, uploadId);
  await client.rm(dir, { recursive: true });
}

/**
 * The uploads in progress in `bucket` whose keys begin with `prefix`, in S3's order (key,
 * then initiation), after (`keyMarker`, `uploadIdMarker`); every one when `prefix` is "".
 */
export async function listUploads(
  client: SandstoreClient,
  bucket: string,
  prefix: string,
): Promise<Upload[]> {
  const uploads: Upload[] = [];
  for (const entry of await client.readdir(`/${bucket}`)) {
    if (!entry.name.startsWith(UPLOAD_PREFIX) || !entry.stats.isDirectory()) continue;
    const key = entry.stats.xattrs[KEY_XATTR]?.toString();
    if (key === undefined || !key.startsWith(prefix)) continue;
    uploads.push({
      key,
      uploadId: entry.name.slice(UPLOAD_PREFIX.length),
      initiator: entry.stats.xattrs[INITIATOR_XATTR]?.toString() ?? "",
      initiatedMs: entry.stats.ctimeMs,
    });
  }
  return uploads.sort(
    (a, b) =>
      Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)) || a.initiatedMs - b.initiatedMs,
  );
}

/**
 * Removes `bucket`'s abandoned uploads and staged files: those with no activity since
 * `cutoffMs`. Each goes through `remove`, given the access key that began the upload
 * (undefined for a staged file), which removes it as that user: only they may. The number
 * removed; a failure for one is counted in `failed` and the sweep goes on.
 */
export async function sweepAbandoned(
  lister: SandstoreClient,
  bucket: string,
  cutoffMs: number,
  remove: (path: string, initiator: string | undefined) => Promise<void>,
): Promise<{ removed: number; failed: number }> {
  let removed = 0;
  let failed = 0;
  for (const entry of await lister.readdir(`/${bucket}`)) {
    const lastActivityMs = Math.max(entry.stats.ctimeMs, entry.stats.mtimeMs);
    if (!entry.name.startsWith(STAGING_PREFIX) || lastActivityMs >= cutoffMs) continue;
    const initiator = entry.stats.xattrs[INITIATOR_XATTR]?.toString();
    try {
      await remove(`/${bucket}/${entry.name}`, initiator);
      removed++;
    } catch {
      failed++;
    }
  }
  return { removed, failed };
}
