/**
 * The on-disk layout of one chunk file: a header with a CRC32C per 64 KiB block, a CRC32C of
 * the whole data and a CRC32C of the header itself, then the data.
 *
 *   offset  size  field
 *   0       4     magic "SSCK"
 *   4       2     format version (1)
 *   6       2     reserved (0)
 *   8       4     data length in bytes
 *   12      4     block size in bytes (65536)
 *   16      4     block count n
 *   20      4     CRC32C of the whole data
 *   24      4n    CRC32C of each block
 *   24+4n   4     CRC32C of bytes [0, 24+4n)
 *   28+4n   ...   data
 */
import { crc32c } from "@node-rs/crc32";
import { crc32cCombine, zeroBytesOperator } from "./crc32c-combine.ts";

export const CHUNK_MAGIC = 0x5353434b; // "SSCK"
export const CHUNK_FORMAT_VERSION = 1;
/** Verification granularity: a ranged read checks only the blocks it touches. */
export const CHUNK_BLOCK_SIZE = 64 * 1024;
/** Appends a whole block's CRC to a running one; computed once. */
const FULL_BLOCK_OPERATOR = zeroBytesOperator(CHUNK_BLOCK_SIZE);
/** Bytes of the fixed part of the header, before the block checksums. */
export const FIXED_HEADER_BYTES = 24;

/** Bytes of the whole header of a chunk with `dataLength` bytes. */
export function headerLength(dataLength: number): number {
  return FIXED_HEADER_BYTES + 4 * blockCount(dataLength) + 4;
}

export function blockCount(dataLength: number): number {
  return Math.ceil(dataLength / CHUNK_BLOCK_SIZE);
}

/** Encodes the header of `data`; returns it with the whole-data checksum. */
export function encodeChunkHeader(data: Uint8Array): { header: Buffer; checksum: number } {
  const blocks = blockCount(data.length);
  const header = Buffer.alloc(headerLength(data.length));
  header.writeUInt32BE(CHUNK_MAGIC, 0);
  header.writeUInt16BE(CHUNK_FORMAT_VERSION, 4);
  header.writeUInt32BE(data.length, 8);
  header.writeUInt32BE(CHUNK_BLOCK_SIZE, 12);
  header.writeUInt32BE(blocks, 16);
  // The whole chunk's CRC comes from the blocks' CRCs, so the bytes are read once.
  let whole = 0;
  for (let i = 0; i < blocks; i++) {
    const block = data.subarray(i * CHUNK_BLOCK_SIZE, (i + 1) * CHUNK_BLOCK_SIZE);
    const crc = crc32c(block);
    header.writeUInt32BE(crc, FIXED_HEADER_BYTES + 4 * i);
    const operator =
      block.length === CHUNK_BLOCK_SIZE ? FULL_BLOCK_OPERATOR : zeroBytesOperator(block.length);
    // Combining onto 0 (the empty prefix) gives `crc` itself, so the first block needs no case.
    whole = crc32cCombine(whole, crc, operator);
  }
  header.writeUInt32BE(whole, 20);
  const end = FIXED_HEADER_BYTES + 4 * blocks;
  header.writeUInt32BE(crc32c(header.subarray(0, end)), end);
  return { header, checksum: whole };
}

/** The fixed fields of a header, read before the block checksums. */
export interface ChunkHeaderFields {
  readonly dataLength: number;
  readonly blockCount: number;
  readonly checksum: number;
}

/** Decodes the fixed part; returns a reason string when it is not a valid chunk header. */
export function decodeFixedHeader(fixed: Buffer): ChunkHeaderFields | string {
  if (fixed.length < FIXED_HEADER_BYTES) return "file shorter than a chunk header";
  if (fixed.readUInt32BE(0) !== CHUNK_MAGIC) return "bad magic";
  if (fixed.readUInt16BE(4) !== CHUNK_FORMAT_VERSION) return "unknown format version";
  const dataLength = fixed.readUInt32BE(8);
  if (fixed.readUInt32BE(12) !== CHUNK_BLOCK_SIZE) return "unexpected block size";
  const blocks = fixed.readUInt32BE(16);
  if (blocks !== blockCount(dataLength)) return "block count does not match length";
  return { dataLength, blockCount: blocks, checksum: fixed.readUInt32BE(20) };
}
