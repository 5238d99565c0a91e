/**
 * CRC32C of a concatenation from the CRCs of its parts (the method of zlib's
 * `crc32_combine`): a chunk's whole checksum from its block checksums, so the chunk's bytes
 * are read once, not twice. A CRC register is a vector over GF(2) and appending zero bytes
 * is a linear operator on it, kept here as 32 columns.
 */

/** CRC32C's polynomial, bit-reversed (the register shifts right). */
const POLYNOMIAL = 0x82f63b78;

/** Columns of a 32×32 matrix over GF(2): column n is the image of bit n. */
export type ZeroBytesOperator = Uint32Array<ArrayBuffer>;

function times(matrix: ZeroBytesOperator, vector: number): number {
  let sum = 0;
  for (let n = 0; vector !== 0; n++, vector >>>= 1) if (vector & 1) sum ^= matrix[n]!;
  return sum >>> 0;
}

/** The operator of `a` applied after `b`. */
function compose(a: ZeroBytesOperator, b: ZeroBytesOperator): ZeroBytesOperator {
  const out = new Uint32Array(32);
  for (let n = 0; n < 32; n++) out[n] = times(a, b[n]!);
  return out;
}

/** The operator that appends `length` zero bytes to a CRC32C register. */
export function zeroBytesOperator(length: number): ZeroBytesOperator {
  if (!Number.isSafeInteger(length) || length < 0)
    throw new RangeError(`bad length ${length} for a CRC operator`);
  // One zero bit: shift right, folding the polynomial in when the low bit falls out.
  let step = new Uint32Array(32);
  step[0] = POLYNOMIAL;
  for (let n = 1; n < 32; n++) step[n] = (1 << (n - 1)) >>> 0;
  for (let i = 0; i < 3; i++) step = compose(step, step); // 2, 4, then 8 bits: one byte
  let result = new Uint32Array(32);
  for (let n = 0; n < 32; n++) result[n] = (1 << n) >>> 0;
  for (let rest = length; rest > 0; rest = Math.floor(rest / 2)) {
    if (rest % 2 === 1) result = compose(step, result);
    if (rest > 1) step = compose(step, step);
  }
  return result;
}

/**
 * The CRC32C of A followed by B, given `crcA`, `crcB` and the operator for B's length
 * (`zeroBytesOperator(B.length)`, which a caller combining many equal parts computes once).
 */
export function crc32cCombine(crcA: number, crcB: number, operatorForB: ZeroBytesOperator): number {
  return (times(operatorForB, crcA >>> 0) ^ crcB) >>> 0;
}
