/**
 * Durable Raft storage on a local disk: a segmented write-ahead log and snapshot files.
 *
 *   <dir>/wal/<seq>.wal    segments of records (wal-record.ts), rotated at `segmentBytes`;
 *                          every segment starts with the hard state of its creation
 *   <dir>/snap/<index>-<term>.snap
 *                          the newest snapshot: a header (magic, metadata, data length,
 *                          CRC32C of the data, CRC32C of the header) and the data
 *
 * One `append` writes entries, then the hard state, with one fsync: a torn write never
 * leaves a commit index ahead of its entries. Segments all of whose entries a snapshot covers
 * are deleted; restart reads only the segments that remain, so it takes time proportional to
 * the entries after the last snapshot.
 */
import { constants } from "node:fs";
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { crc32c } from "@node-rs/crc32";
import type { ConfState, Entry, EntryType, HardState, SnapshotMeta } from "../core/types.ts";
import { decodeRecords, encodeRecord, WalCorruptionError } from "./wal-record.ts";

const ENTRY = 1;
const HARD_STATE = 2;
const KNOWN = new Set([ENTRY, HARD_STATE]);
const SNAPSHOT_MAGIC = 0x53534e50; // "SSNP"

/** What a node boots from. */
export interface StoredState {
  readonly hardState: HardState;
  readonly snapshot: SnapshotMeta;
  /** Entries after the snapshot, in order. */
  readonly entries: Entry[];
  /** Bytes cut from a torn tail of the last segment (0 when the log ended cleanly). */
  readonly truncatedBytes: number;
  /** The segment file that was cut, when `truncatedBytes` is not 0: operators need its name. */
  readonly truncatedSegment?: string;
}

/** Writes one snapshot's data in order; nothing is visible until `commit`. */
export interface SnapshotWriter {
  write(data: Uint8Array): Promise<void>;
  /** Makes the snapshot durable and current, and drops the log it covers. */
  commit(): Promise<void>;
  /** Throws the partial snapshot away. */
  abort(): Promise<void>;
}

export interface DiskStorageOptions {
  readonly dir: string;
  /** Members of a new group (used only when the directory holds nothing yet). */
  readonly initialConf: ConfState;
  /** Segment size that triggers rotation. Default 64 MiB. */
  readonly segmentBytes?: number;
}

async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function encodeEntry(entry: Entry): Buffer {
  const payload = Buffer.allocUnsafe(17 + entry.data.length);
  payload.writeBigUInt64BE(BigInt(entry.index), 0);
  payload.writeBigUInt64BE(BigInt(entry.term), 8);
  payload.writeUInt8(entry.type, 16);
  payload.set(entry.data, 17);
  return encodeRecord(ENTRY, payload);
}

function decodeEntry(payload: Buffer): Entry {
  return {
    index: Number(payload.readBigUInt64BE(0)),
    term: Number(payload.readBigUInt64BE(8)),
    type: payload.readUInt8(16) as EntryType,
    data: payload.subarray(17),
  };
}

function encodeHardState(state: HardState): Buffer {
  const vote = Buffer.from(state.vote, "utf8");
  const payload = Buffer.allocUnsafe(16 + vote.length);
  payload.writeBigUInt64BE(BigInt(state.term), 0);
  payload.writeBigUInt64BE(BigInt(state.commit), 8);
  payload.set(vote, 16);
  return encodeRecord(HARD_STATE, payload);
}

function decodeHardState(payload: Buffer): HardState {
  return {
    term: Number(payload.readBigUInt64BE(0)),
    commit: Number(payload.readBigUInt64BE(8)),
    vote: payload.subarray(16).toString("utf8"),
  };
}

const segmentName = (seq: number) => `${seq.toString(16).padStart(16, "0")}.wal`;
const snapshotName = (meta: SnapshotMeta) =>
  `${meta.index.toString(16).padStart(16, "0")}-${meta.term.toString(16).padStart(16, "0")}.snap`;

interface Segment {
  readonly seq: number;
  readonly path: string;
  /** Highest entry index written to it (0 when none). */
  maxIndex: number;
}

export class DiskStorage {
  private readonly walDir: string;
  private readonly snapDir: string;
  private readonly segmentBytes: number;
  private segments: Segment[] = [];
  private handle: FileHandle | undefined;
  private size = 0;
  private hardState: HardState = { term: 0, vote: "", commit: 0 };
  private snapshot: SnapshotMeta;

  constructor(options: DiskStorageOptions) {
    this.walDir = join(options.dir, "wal");
    this.snapDir = join(options.dir, "snap");
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.snapshot = { index: 0, term: 0, conf: options.initialConf, size: 0 };
  }

  /**
   * Opens the storage: loads the newest snapshot's metadata and replays the segments after it.
   * A torn tail of the last segment is cut (and reported); damage anywhere else throws
   * WalCorruptionError naming the file and offset.
   */
  async open(): Promise<StoredState> {
    await mkdir(this.walDir, { recursive: true });
    await mkdir(this.snapDir, { recursive: true });
    await this.loadSnapshotMeta();
    const names = (await readdir(this.walDir)).filter((n) => /^[0-9a-f]{16}\.wal$/.test(n)).sort();
    const entries: Entry[] = [];
    let truncatedBytes = 0;
    let truncatedSegment: string | undefined;
    for (const [i, name] of names.entries()) {
      const path = join(this.walDir, name);
      const bytes = await readFile(path);
      const last = i === names.length - 1;
      const { records, end } = decodeRecords(path, bytes, KNOWN, last);
      const segment: Segment = { seq: Number.parseInt(name, 16), path, maxIndex: 0 };
      for (const record of records) {
        if (record.type === HARD_STATE) {
          this.hardState = decodeHardState(record.payload);
          continue;
        }
        const entry = decodeEntry(record.payload);
        segment.maxIndex = Math.max(segment.maxIndex, entry.index);
        if (entry.index <= this.snapshot.index) continue;
        const first = entries[0]?.index ?? entry.index;
        if (entry.index > first + entries.length) {
          throw new WalCorruptionError(
            path,
            record.offset,
            `entry ${entry.index} leaves a gap after ${first + entries.length - 1}`,
          );
        }
        // A later entry at an index replaces it and everything after (a truncated tail).
        entries.length = entry.index - first;
        entries.push(entry);
      }
      if (last && end < bytes.length) {
        truncatedBytes = bytes.length - end;
        truncatedSegment = path;
        const handle = await open(path, "r+");
        await handle.truncate(end);
        await handle.sync();
        await handle.close();
      }
      this.segments.push(segment);
    }
    if (entries.length > 0 && entries[0]!.index !== this.snapshot.index + 1) {
      const path = this.segments[0]?.path ?? this.walDir;
      throw new WalCorruptionError(
        path,
        0,
        `log starts at ${entries[0]!.index}, the snapshot ends at ${this.snapshot.index}`,
      );
    }
    if (this.hardState.commit < this.snapshot.index)
      this.hardState = { ...this.hardState, commit: this.snapshot.index };
    await this.openTail();
    return {
      hardState: this.hardState,
      snapshot: this.snapshot,
      entries,
      truncatedBytes,
      truncatedSegment,
    };
  }

  private async openTail(): Promise<void> {
    const tail = this.segments.at(-1);
    if (!tail) {
      await this.startSegment(1);
      return;
    }
    this.handle = await open(tail.path, "r+");
    this.size = (await this.handle.stat()).size;
  }

  private async startSegment(seq: number): Promise<void> {
    await this.handle?.close();
    const path = join(this.walDir, segmentName(seq));
    this.handle = await open(path, "w");
    // The hard state leads every segment, so deleting older segments never loses it.
    const head = encodeHardState(this.hardState);
    await this.handle.write(head, 0, head.length, 0);
    await this.handle.sync();
    await fsyncDirectory(this.walDir);
    this.size = head.length;
    this.segments.push({ seq, path, maxIndex: 0 });
  }

  /**
   * Appends entries (replacing stored entries at or after the first one's index), then the
   * hard state, and fsyncs once: durable when the promise resolves. With `sync` false the
   * write is not fsynced; only for a change of the commit index alone, which a restart may
   * lose safely (the node learns it again and replay is idempotent).
   */
  async append(
    entries: readonly Entry[],
    hardState: HardState | undefined,
    sync = true,
  ): Promise<void> {
    if (entries.length === 0 && !hardState) return;
    if (this.size >= this.segmentBytes)
      await this.startSegment((this.segments.at(-1)?.seq ?? 0) + 1);
    const records = entries.map(encodeEntry);
    if (hardState) records.push(encodeHardState(hardState));
    const total = records.reduce((sum, r) => sum + r.length, 0);
    await this.handle!.writev(records, this.size);
    if (sync || entries.length > 0) await this.handle!.datasync();
    this.size += total;
    const segment = this.segments.at(-1)!;
    for (const entry of entries) segment.maxIndex = Math.max(segment.maxIndex, entry.index);
    if (hardState) this.hardState = hardState;
  }

  /** The current snapshot's metadata. */
  snapshotMeta(): SnapshotMeta {
    return this.snapshot;
  }

  /** Starts writing a snapshot with `meta` (its `size` must be the data's length). */
  async beginSnapshot(meta: SnapshotMeta): Promise<SnapshotWriter> {
    const temp = join(this.snapDir, `tmp-${snapshotName(meta)}`);
    const handle = await open(temp, "w");
    const metaBytes = Buffer.from(
      JSON.stringify({ index: meta.index, term: meta.term, conf: meta.conf, size: meta.size }),
    );
    const headerLength = 4 + 4 + metaBytes.length + 4 + 4;
    let written = 0;
    let dataCrc = 0;
    const position = () => headerLength + written;
    return {
      write: async (data) => {
        await handle.write(data, 0, data.length, position());
        dataCrc = crc32c(Buffer.from(data.buffer, data.byteOffset, data.byteLength), dataCrc);
        written += data.length;
      },
      commit: async () => {
        if (written !== meta.size) {
          await handle.close();
          await rm(temp, { force: true });
          throw new Error(
            `snapshot at ${meta.index} has ${written} bytes, its metadata says ${meta.size}`,
          );
        }
        const header = Buffer.alloc(headerLength);
        header.writeUInt32BE(SNAPSHOT_MAGIC, 0);
        header.writeUInt32BE(metaBytes.length, 4);
        metaBytes.copy(header, 8);
        header.writeUInt32BE(dataCrc, 8 + metaBytes.length);
        header.writeUInt32BE(crc32c(header.subarray(0, headerLength - 4)), headerLength - 4);
        await handle.write(header, 0, header.length, 0);
        await handle.sync();
        await handle.close();
        await rename(temp, join(this.snapDir, snapshotName(meta)));
        await fsyncDirectory(this.snapDir);
        this.snapshot = meta;
        if (this.hardState.commit < meta.index)
          await this.append([], { ...this.hardState, commit: meta.index });
        await this.dropCovered();
      },
      abort: async () => {
        await handle.close();
        await rm(temp, { force: true });
      },
    };
  }

  /** `length` bytes of the current snapshot's data at `offset`. */
  async readSnapshot(offset: number, length: number): Promise<Buffer> {
    const path = join(this.snapDir, snapshotName(this.snapshot));
    const handle = await open(path, "r");
    try {
      const head = Buffer.alloc(8);
      await handle.read(head, 0, 8, 0);
      const headerLength = 8 + head.readUInt32BE(4) + 8;
      const out = Buffer.alloc(Math.max(0, Math.min(length, this.snapshot.size - offset)));
      await handle.read(out, 0, out.length, headerLength + offset);
      return out;
    } finally {
      await handle.close();
    }
  }

  /** Deletes older snapshots and the segments whose entries the snapshot covers. */
  private async dropCovered(): Promise<void> {
    for (const name of await readdir(this.snapDir)) {
      if (name !== snapshotName(this.snapshot)) await rm(join(this.snapDir, name), { force: true });
    }
    while (this.segments.length > 1 && this.segments[0]!.maxIndex <= this.snapshot.index) {
      await rm(this.segments[0]!.path, { force: true });
      this.segments.shift();
    }
    await fsyncDirectory(this.walDir);
  }

  /** Reads the newest snapshot's metadata and verifies its whole file. */
  private async loadSnapshotMeta(): Promise<void> {
    const names = (await readdir(this.snapDir))
      .filter((n) => /^[0-9a-f]{16}-[0-9a-f]{16}\.snap$/.test(n))
      .sort();
    for (const name of await readdir(this.snapDir)) {
      if (name.startsWith("tmp-")) await rm(join(this.snapDir, name), { force: true });
    }
    const newest = names.at(-1);
    if (!newest) return;
    const path = join(this.snapDir, newest);
    const bytes = await readFile(path);
    const metaLength = bytes.length >= 8 ? bytes.readUInt32BE(4) : 0;
    const headerLength = 8 + metaLength + 8;
    if (bytes.length < headerLength || bytes.readUInt32BE(0) !== SNAPSHOT_MAGIC) {
      throw new WalCorruptionError(path, 0, "not a snapshot file");
    }
    if (crc32c(bytes.subarray(0, headerLength - 4)) !== bytes.readUInt32BE(headerLength - 4)) {
      throw new WalCorruptionError(path, 0, "snapshot header checksum mismatch");
    }
    const meta = JSON.parse(bytes.subarray(8, 8 + metaLength).toString("utf8")) as SnapshotMeta;
    if (crc32c(bytes.subarray(headerLength)) !== bytes.readUInt32BE(8 + metaLength)) {
      throw new WalCorruptionError(path, headerLength, "snapshot data checksum mismatch");
    }
    if (bytes.length - headerLength !== meta.size) {
      throw new WalCorruptionError(
        path,
        headerLength,
        `snapshot data is ${bytes.length - headerLength} bytes, header says ${meta.size}`,
      );
    }
    this.snapshot = meta;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}
