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
import { crc32c } from "@node-rs/crc32";
import { fsyncDirectory } from "../common/fs.ts";
import { MetadataCommand } from "../gen/sandstore/v1/metadata.ts";
import type { LogEntry } from "../metadata/metadata-store.ts";

const RECORD_HEADER_BYTES = 9;
const TYPE_ENTRY = 1;
/** Largest payload: bounds the memory a damaged length field can make us allocate. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** A WAL that cannot be opened safely; names the file and the offset of the damage. */
export class WalCorruptionError extends Error {
  override readonly name = "WalCorruptionError";
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`${file}: damaged record at offset ${offset}: ${reason}`);
  }
}

/** What `LocalWal.open` found. */
export interface WalRecovery {
  readonly entries: LogEntry[];
  /** Bytes cut from a torn tail (0 when the log ended cleanly). */
  readonly truncatedBytes: number;
}

/** Encodes one entry as a record. */
export function encodeEntryRecord(entry: LogEntry): Buffer {
  const command = MetadataCommand.encode(entry.command).finish();
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + 8 + command.length);
  record.writeUInt32BE(8 + command.length, 0);
  record.writeUInt8(TYPE_ENTRY, 4);
  record.writeBigUInt64BE(BigInt(entry.index), RECORD_HEADER_BYTES);
  record.set(command, RECORD_HEADER_BYTES + 8);
  record.writeUInt32BE(
    crc32c(record.subarray(RECORD_HEADER_BYTES), crc32c(record.subarray(4, 5))),
    5,
  );
  return record;
}

/** Parses records; returns the entries and where the whole records end. */
export function decodeRecords(file: string, bytes: Buffer): { entries: LogEntry[]; end: number } {
  const entries: LogEntry[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const problem = recordProblem(bytes, offset);
    if (problem !== undefined) {
      if (isTornTail(bytes, offset)) return { entries, end: offset };
      throw new WalCorruptionError(file, offset, problem);
    }
    const length = bytes.readUInt32BE(offset);
    const payload = bytes.subarray(
      offset + RECORD_HEADER_BYTES,
      offset + RECORD_HEADER_BYTES + length,
    );
    const index = Number(payload.readBigUInt64BE(0));
    let command: MetadataCommand;
    try {
      command = MetadataCommand.decode(payload.subarray(8));
    } catch (error) {
      throw new WalCorruptionError(file, offset, `undecodable command: ${String(error)}`);
    }
    const previous = entries.at(-1);
    if (previous && index !== previous.index + 1) {
      throw new WalCorruptionError(
        file,
        offset,
        `index ${index} does not follow ${previous.index}`,
      );
    }
    entries.push({ index, command });
    offset += RECORD_HEADER_BYTES + length;
  }
  return { entries, end: offset };
}

/**
 * Whether the bad record at `offset` is the torn tail of the last write. A torn write leaves a
 * short header, or a record that runs to or past the end of the file, and never a whole valid
 * record after it; a length over the limit is never written, so it is damage.
 */
function isTornTail(bytes: Buffer, offset: number): boolean {
  if (bytes.length - offset < RECORD_HEADER_BYTES) return true;
  const length = bytes.readUInt32BE(offset);
  if (length > MAX_RECORD_BYTES) return false;
  if (offset + RECORD_HEADER_BYTES + length < bytes.length) return false;
  // The length may itself be damaged and point past records that follow: look for one.
  for (let next = offset + 1; next + RECORD_HEADER_BYTES <= bytes.length; next++) {
    if (recordProblem(bytes, next) === undefined) return false;
  }
  return true;
}

function recordProblem(bytes: Buffer, offset: number): string | undefined {
  if (bytes.length - offset < RECORD_HEADER_BYTES) return "short record header";
  const length = bytes.readUInt32BE(offset);
  if (length > MAX_RECORD_BYTES) return `record length ${length} over the limit`;
  if (length < 8) return "record too short for an entry";
  if (bytes.length - offset < RECORD_HEADER_BYTES + length) return "short record";
  const type = bytes.subarray(offset + 4, offset + 5);
  if (type[0] !== TYPE_ENTRY) return `unknown record type ${type[0]}`;
  const payload = bytes.subarray(
    offset + RECORD_HEADER_BYTES,
    offset + RECORD_HEADER_BYTES + length,
  );
  if (crc32c(payload, crc32c(type)) !== bytes.readUInt32BE(offset + 5)) return "checksum mismatch";
  return undefined;
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
