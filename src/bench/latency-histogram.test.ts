import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { LatencyHistogram } from "./latency-histogram.ts";

test("percentiles are within 1% of the exact ones, and the maximum is exact", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0.002, max: 100_000, noNaN: true }), {
        minLength: 1,
        maxLength: 500,
      }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (samples, p) => {
        const histogram = new LatencyHistogram();
        for (const ms of samples) histogram.record(ms);
        const sorted = [...samples].sort((a, b) => a - b);
        const exact = sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
        const estimate = histogram.percentile(p);
        assert.ok(
          estimate >= exact * 0.999 && estimate <= exact * 1.0101,
          `${estimate} vs ${exact}`,
        );
        assert.equal(histogram.max, sorted.at(-1));
        assert.equal(histogram.count, samples.length);
      },
    ),
  );
});

test("merged histograms answer as one; empty ones answer 0; bad input is refused", () => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  assert.equal(a.percentile(0.99), 0);
  for (let i = 1; i <= 50; i++) a.record(i);
  for (let i = 51; i <= 100; i++) b.record(i);
  a.merge(b);
  assert.equal(a.count, 100);
  assert.equal(a.max, 100);
  assert.ok(Math.abs(a.percentile(0.5) - 50) <= 0.5);
  assert.throws(() => a.record(-1), RangeError);
  assert.throws(() => a.record(Number.NaN), RangeError);
  assert.throws(() => a.percentile(1.5), RangeError);
});
