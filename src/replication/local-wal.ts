/**
 * The write-ahead log of the `local` replicator: one file of records, each
 *
 *   u32 payload length | u8 type | u32 CRC32C of (type, payload) | payload
 *
 * where an entry's payload is its u64 index followed by the encoded command. On open, a torn
 * tail (a short or damaged last record) is cut back to the last whole record; any other damage
 * stops the open with the file and offset named, because cutting it would lose acknowledged
 * entries.
 */
import { constants } from "node:fs";
import { type FileHandle, open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { fsyncDirectory } from "../common/fs.ts";
import { MetadataCommand } from "../gen/sandstore/v1/metadata.ts";
import type { LogEntry } from "../metadata/metadata-store.ts";
import {
  decodeRecords as decodeFile,
  encodeRecord,
  WalCorruptionError,
} from "../raft/storage/wal-record.ts";

export { WalCorruptionError };

const TYPE_ENTRY = 1;
const KNOWN_TYPES = new Set([TYPE_ENTRY]);

/** What `LocalWal.open` found. */
export interface WalRecovery {
  readonly entries: LogEntry[];
  /** Bytes cut from a torn tail (0 when the log ended cleanly). */
  readonly truncatedBytes: number;
}

/** Encodes one entry as a record: its u64 index, then the encoded command. */
export function encodeEntryRecord(entry: LogEntry): Buffer {
  const command = MetadataCommand.encode(entry.command).finish();
  const payload = Buffer.allocUnsafe(8 + command.length);
  payload.writeBigUInt64BE(BigInt(entry.index), 0);
  payload.set(command, 8);
  return encodeRecord(TYPE_ENTRY, payload);
}

/** Parses a log file; returns the entries and where the whole records end. */
export function decodeRecords(file: string, bytes: Buffer): { entries: LogEntry[]; end: number } {
  const { records, end } = decodeFile(file, bytes, KNOWN_TYPES, true);
  const entries: LogEntry[] = [];
  for (const record of records) {
    if (record.payload.length < 8)
      throw new WalCorruptionError(file, record.offset, "record too short for an entry");
    const index = Number(record.payload.readBigUInt64BE(0));
    let command: MetadataCommand;
    try {
      command = MetadataCommand.decode(record.payload.subarray(8));
    } catch (error) {
      throw new WalCorruptionError(file, record.offset, `undecodable command: ${String(error)}`);
    }
    const previous = entries.at(-1);
    if (previous && index !== previous.index + 1) {
      throw new WalCorruptionError(
        file,
        record.offset,
        `index ${index} does not follow ${previous.index}`,
      );
    }
    entries.push({ index, command });
  }
  return { entries, end };
}

/** An append-only log file. Not safe for concurrent appends: the replicator serializes them. */
export class LocalWal {
  private constructor(
    private readonly path: string,
    private handle: FileHandle,
    private size: number,
  ) {}

  /**
   * Opens (creating) the log at `path`, cuts a torn tail, and returns the entries in it.
   * Throws WalCorruptionError for damage before the tail.
   */
  static async open(path: string): Promise<{ wal: LocalWal; recovery: WalRecovery }> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      bytes = Buffer.alloc(0);
    }
    const { entries, end } = decodeRecords(path, bytes);
    const handle = await open(path, constants.O_RDWR | constants.O_CREAT);
    if (end < bytes.length) {
      await handle.truncate(end);
      await handle.sync();
    }
    await fsyncDirectory(dirname(path));
    return {
      wal: new LocalWal(path, handle, end),
      recovery: { entries, truncatedBytes: bytes.length - end },
    };
  }

  /** Bytes in the log. */
  byteSize(): number {
    return this.size;
  }

  /** Appends records and fsyncs once: durable when this resolves. */
  async append(records: readonly Buffer[]): Promise<void> {
    const total = records.reduce((sum, record) => sum + record.length, 0);
    await this.handle.writev(records as Buffer[], this.size);
    this.size += total;
    await this.handle.datasync();
  }

  /**
   * Replaces the log with an empty one. Only call once the store has made every entry in the
   * log durable: the entries are gone afterwards.
   */
  async reset(): Promise<void> {
    const temp = `${this.path}.new`;
    const fresh = await open(temp, "w");
    await fresh.sync();
    await rename(temp, this.path);
    await fsyncDirectory(dirname(this.path));
    await this.handle.close();
    this.handle = fresh;
    this.size = 0;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
