import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { answerRange } from "./byte-range.ts";

test("a single bytes range is served as RFC 9110 says, and anything else is the whole file", () => {
  const size = 1000;
  assert.deepEqual(answerRange(undefined, size), { kind: "whole" });
  assert.deepEqual(answerRange("bytes=0-0", size), { kind: "slice", start: 0, end: 1 });
  assert.deepEqual(answerRange("bytes=10-19", size), { kind: "slice", start: 10, end: 20 });
  assert.deepEqual(answerRange("bytes=990-", size), { kind: "slice", start: 990, end: 1000 });
  assert.deepEqual(answerRange("bytes=990-5000", size), { kind: "slice", start: 990, end: 1000 });
  assert.deepEqual(answerRange("bytes=-10", size), { kind: "slice", start: 990, end: 1000 });
  assert.deepEqual(answerRange("bytes=-5000", size), { kind: "slice", start: 0, end: 1000 });
  assert.deepEqual(answerRange("bytes=1000-", size), { kind: "unsatisfiable" });
  assert.deepEqual(answerRange("bytes=-0", size), { kind: "unsatisfiable" });
  assert.deepEqual(answerRange("bytes=0-", 0), { kind: "unsatisfiable" });
  assert.deepEqual(answerRange("bytes=-1", 0), { kind: "unsatisfiable" });
  // Not one bytes range: ignored.
  for (const header of ["bytes=0-1,5-6", "items=0-1", "bytes=5-1", "bytes=-", "bytes=a-b", ""])
    assert.deepEqual(answerRange(header, size), { kind: "whole" }, header);
  assert.deepEqual(answerRange(`bytes=${"9".repeat(400)}-`, size), { kind: "whole" });
});

test("every slice it answers lies inside the file and is not empty", () => {
  fc.assert(
    fc.property(
      fc.nat(10_000),
      fc.option(fc.nat(20_000)),
      fc.option(fc.nat(20_000)),
      (size, first, last) => {
        const header = `bytes=${first ?? ""}-${last ?? ""}`;
        const answer = answerRange(header, size);
        if (answer.kind !== "slice") return;
        assert.ok(answer.start >= 0 && answer.start < answer.end && answer.end <= size, header);
      },
    ),
  );
});
