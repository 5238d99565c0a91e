import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveUserSecret, secretsEqual, userSecretKey } from "./secrets.ts";

test("secretsEqual matches equal secrets only, whatever their lengths", () => {
  assert.equal(secretsEqual("s3cret", "s3cret"), true);
  assert.equal(secretsEqual(Buffer.from("s3cret"), "s3cret"), true);
  assert.equal(secretsEqual("s3cre", "s3cret"), false);
  assert.equal(secretsEqual("", "s3cret"), false);
  assert.equal(secretsEqual("S3cret", "s3cret"), false);
});

test("users' secrets derive from the token's key, the access key and the salt", () => {
  const key = userSecretKey("0123456789abcdef0123456789abcdef");
  const salt = Buffer.alloc(16, 1);
  const secret = deriveUserSecret(key, "SKEXAMPLE", salt);
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/, "256 bits as base64url, as a random secret");
  assert.equal(
    deriveUserSecret(key, "SKEXAMPLE", salt),
    secret,
    "the same inputs, the same secret",
  );
  assert.notEqual(deriveUserSecret(key, "SKEXAMPLE", Buffer.alloc(16, 2)), secret, "a new salt");
  assert.notEqual(deriveUserSecret(key, "SKOTHER", salt), secret, "another user");
  const otherCluster = userSecretKey("fedcba9876543210fedcba9876543210");
  assert.notEqual(deriveUserSecret(otherCluster, "SKEXAMPLE", salt), secret, "another cluster");
});
