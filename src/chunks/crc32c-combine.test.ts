import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32c } from "@node-rs/crc32";
import fc from "fast-check";
import { crc32cCombine, zeroBytesOperator } from "./crc32c-combine.ts";

test("property: combining the CRCs of two parts gives the CRC of their concatenation", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 2000 }), (a, b) => {
      const whole = crc32c(Buffer.concat([a, b]));
      assert.equal(
        crc32cCombine(crc32c(Buffer.from(a)), crc32c(Buffer.from(b)), zeroBytesOperator(b.length)),
        whole >>> 0,
      );
    }),
    { numRuns: 300 },
  );
});

test("many equal blocks combine with one operator, as a chunk's blocks do", () => {
  const data = Buffer.alloc(5 * 65_536 + 123);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2_654_435_761) >>> 24;
  const full = zeroBytesOperator(65_536);
  let whole = 0;
  for (let at = 0; at < data.length; at += 65_536) {
    const block = data.subarray(at, at + 65_536);
    const operator = block.length === 65_536 ? full : zeroBytesOperator(block.length);
    whole = at === 0 ? crc32c(block) : crc32cCombine(whole, crc32c(block), operator);
  }
  assert.equal(whole, crc32c(data) >>> 0);
  assert.throws(() => zeroBytesOperator(-1), RangeError);
});
