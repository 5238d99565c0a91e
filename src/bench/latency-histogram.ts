/**
 * Latencies in a fixed-size logarithmic histogram: percentiles within 1% of the true value in
 * constant memory, however long a benchmark runs (a sample array would grow without bound).
 */

/** Each bucket's upper bound is this factor above the one before: the relative error bound. */
const GROWTH = 1.01;
/** The smallest latency told apart, ms (1 µs); anything faster lands in the first bucket. */
const FLOOR_MS = 0.001;
/** Buckets up to FLOOR_MS * GROWTH^BUCKETS ≈ 1,000 s; slower ones land in the last. */
const BUCKETS = Math.ceil(Math.log(1_000_000 / FLOOR_MS) / Math.log(GROWTH));

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS + 1);
  private total = 0;
  private maximum = 0;

  /** Records one latency in ms. Negative or non-finite values are a caller's bug: RangeError. */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency ${ms} ms is not a duration`);
    const bucket =
      ms <= FLOOR_MS ? 0 : Math.min(BUCKETS, Math.ceil(Math.log(ms / FLOOR_MS) / Math.log(GROWTH)));
    this.counts[bucket]!++;
    this.total++;
    if (ms > this.maximum) this.maximum = ms;
  }

  /** Adds every latency `other` recorded (one histogram per worker, merged at the end). */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.maximum = Math.max(this.maximum, other.maximum);
  }

  get count(): number {
    return this.total;
  }

  /** The largest latency recorded, exactly; 0 when none was. */
  get max(): number {
    return this.maximum;
  }

  /**
   * The latency below which fraction `p` (0 to 1) of the recorded ones fall, as the upper
   * bound of its bucket (never above the maximum); 0 when nothing was recorded.
   */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`percentile ${p} is not between 0 and 1`);
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(p * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.maximum, FLOOR_MS * GROWTH ** i);
    }
    return this.maximum;
  }
}
