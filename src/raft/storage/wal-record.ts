/**
 * The record format of the Raft write-ahead log:
 *
 *   u32 payload length | u8 type | u32 CRC32C of (type, payload) | payload
 *
 * and how a file of records is read back: a torn tail (a short record, or a last record with a
 * lost sector, and no whole record after it) is reported so the caller can cut it; any other
 * damage is an error naming the file and the offset, because cutting it could lose
 * acknowledged records.
 */
import { crc32c } from "@node-rs/crc32";

export const RECORD_HEADER_BYTES = 9;
/** Largest payload: bounds what a damaged length field can make a reader allocate. */
export const MAX_RECORD_PAYLOAD = 64 * 1024 * 1024;

/** A log that cannot be read safely; names the file and the offset of the damage. */
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

/** Frames `payload` as a record of `type` (1 to 255). */
export function encodeRecord(type: number, payload: Uint8Array): Buffer {
  if (payload.length > MAX_RECORD_PAYLOAD)
    throw new RangeError(`record of ${payload.length} bytes over the limit`);
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  record.writeUInt32BE(payload.length, 0);
  record.writeUInt8(type, 4);
  record.set(payload, RECORD_HEADER_BYTES);
  record.writeUInt32BE(
    crc32c(record.subarray(RECORD_HEADER_BYTES), crc32c(record.subarray(4, 5))),
    5,
  );
  return record;
}

/** Why the record at `offset` is not whole and valid, or undefined when it is. */
function recordProblem(
  bytes: Buffer,
  offset: number,
  knownTypes: ReadonlySet<number>,
): string | undefined {
  if (bytes.length - offset < RECORD_HEADER_BYTES) return "short record header";
  const length = bytes.readUInt32BE(offset);
  if (length > MAX_RECORD_PAYLOAD) return `record length ${length} over the limit`;
  if (bytes.length - offset < RECORD_HEADER_BYTES + length) return "short record";
  const type = bytes.subarray(offset + 4, offset + 5);
  if (!knownTypes.has(type[0]!)) return `unknown record type ${type[0]}`;
  const payload = bytes.subarray(
    offset + RECORD_HEADER_BYTES,
    offset + RECORD_HEADER_BYTES + length,
  );
  if (crc32c(payload, crc32c(type)) !== bytes.readUInt32BE(offset + 5)) return "checksum mismatch";
  return undefined;
}

/** Disk sectors: a torn write loses whole ones, which then read back as zeros. */
const SECTOR_BYTES = 512;
/** A zeroed run shorter than this is as likely a damaged byte as a lost sector. */
const MIN_ZEROED_RUN = 8;

/**
 * Whether the bad record at `offset` is the torn tail of the last write, which is safe to cut
 * because it was never acknowledged. A torn write leaves a short header, a record that runs
 * past the end, or a whole record with a lost sector (zeros) in it, and never a valid record
 * after it. A whole record that is merely wrong (a flipped bit in its payload, type or
 * checksum), or one whose length field is wrong but whose bytes to the end check out, is
 * damage: cutting it could lose an acknowledged entry or a vote, so it is refused.
 */
function isTornTail(bytes: Buffer, offset: number, knownTypes: ReadonlySet<number>): boolean {
  if (bytes.length - offset < RECORD_HEADER_BYTES) return true;
  const length = bytes.readUInt32BE(offset);
  if (length > MAX_RECORD_PAYLOAD) return false;
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end < bytes.length) return false;
  if (end === bytes.length) return hasZeroedSector(bytes, offset, end);
  // Short: torn, unless the length field is what is damaged and the bytes to the end are a
  // whole valid record.
  const rest = bytes.length - offset - RECORD_HEADER_BYTES;
  const type = bytes.subarray(offset + 4, offset + 5);
  if (
    knownTypes.has(type[0]!) &&
    crc32c(
      bytes.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + rest),
      crc32c(type),
    ) === bytes.readUInt32BE(offset + 5)
  )
    return false;
  // The length itself may be damaged and point past records that follow: look for one.
  for (let next = offset + 1; next + RECORD_HEADER_BYTES <= bytes.length; next++) {
    if (recordProblem(bytes, next, knownTypes) === undefined) return false;
  }
  return true;
}

/** Whether some sector-aligned piece of [start, end), of MIN_ZEROED_RUN bytes or more, is all zeros. */
function hasZeroedSector(bytes: Buffer, start: number, end: number): boolean {
  for (let from = start; from < end; ) {
    const to = Math.min(end, (Math.floor(from / SECTOR_BYTES) + 1) * SECTOR_BYTES);
    if (to - from >= MIN_ZEROED_RUN && bytes.subarray(from, to).every((b) => b === 0)) return true;
    from = to;
  }
  return false;
}

export interface DecodedRecord {
  readonly type: number;
  readonly payload: Buffer;
  readonly offset: number;
}

/**
 * Reads the records of one file. `allowTornTail` is true only for the last file of a log: a
 * torn write can only be at the very end. Returns the records and where the whole ones end.
 */
export function decodeRecords(
  file: string,
  bytes: Buffer,
  knownTypes: ReadonlySet<number>,
  allowTornTail: boolean,
): { records: DecodedRecord[]; end: number } {
  const records: DecodedRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const problem = recordProblem(bytes, offset, knownTypes);
    if (problem !== undefined) {
      if (allowTornTail && isTornTail(bytes, offset, knownTypes)) return { records, end: offset };
      throw new WalCorruptionError(file, offset, problem);
    }
    const length = bytes.readUInt32BE(offset);
    records.push({
      type: bytes[offset + 4]!,
      payload: bytes.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length),
      offset,
    });
    offset += RECORD_HEADER_BYTES + length;
  }
  return { records, end: offset };
}
