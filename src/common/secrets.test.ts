import assert from "node:assert/strict";
import { test } from "node:test";
import { secretsEqual } from "./secrets.ts";

test("secretsEqual matches equal secrets only, whatever their lengths", () => {
  assert.equal(secretsEqual("s3cret", "s3cret"), true);
  assert.equal(secretsEqual(Buffer.from("s3cret"), "s3cret"), true);
  assert.equal(secretsEqual("s3cre", "s3cret"), false);
  assert.equal(secretsEqual("", "s3cret"), false);
  assert.equal(secretsEqual("S3cret", "s3cret"), false);
});
