import assert from "node:assert/strict";
import { test } from "node:test";
import { SandstoreError } from "../common/errors.ts";
import {
  checkCapability,
  issuerOfKey,
  MAX_CAPABILITY_LENGTH,
  newCapabilityKey,
  parseCapability,
  signCapability,
} from "./chunk-capability.ts";

const chunk = (n: number) => n.toString(16).padStart(32, "0");
const refusal = (run: () => void): string => {
  try {
    run();
    return "allowed";
  } catch (error) {
    assert.ok(error instanceof SandstoreError, String(error));
    assert.equal(error.code, "EACCES");
    return error.message;
  }
};

test("a capability allows its operation on its chunk until it expires, and nothing else", () => {
  const key = newCapabilityKey("m1");
  assert.equal(issuerOfKey(key.id), "m1");
  const write = signCapability(key, chunk(1), "write", 10_000);
  const read = signCapability(key, chunk(1), "read", 10_000);
  assert.equal(
    refusal(() => checkCapability(write.capability, key, chunk(1), "write", 9_999)),
    "allowed",
  );
  assert.equal(
    refusal(() => checkCapability(write.capability, key, chunk(1), "read", 9_999)),
    "allowed",
    "a writer may read back what it wrote",
  );
  assert.equal(
    refusal(() => checkCapability(read.capability, key, chunk(1), "read", 0)),
    "allowed",
  );
  assert.match(
    refusal(() => checkCapability(read.capability, key, chunk(1), "write", 0)),
    /read capability/,
  );
  assert.match(
    refusal(() => checkCapability(write.capability, key, chunk(2), "write", 0)),
    /another chunk/,
  );
  assert.match(
    refusal(() => checkCapability(write.capability, key, chunk(1), "write", 10_000)),
    /expired/,
  );
  const other = newCapabilityKey("m1");
  assert.match(
    refusal(() => checkCapability(write.capability, other, chunk(1), "write", 0)),
    /another key/,
  );
});

test("a forged or malformed capability is refused without quoting its signature", () => {
  const key = newCapabilityKey("m2");
  const genuine = signCapability(key, chunk(7), "read", 5_000).capability;
  const signature = genuine.slice(genuine.lastIndexOf(":") + 1);
  // A later expiry under the old signature, a changed chunk, a flipped signature character.
  const forgeries = [
    genuine.replace(":5000:", ":9999999:"),
    genuine.replace(":read:", ":write:"),
    `${genuine.slice(0, -1)}${genuine.endsWith("A") ? "B" : "A"}`,
  ];
  for (const forged of forgeries) {
    const message = refusal(() => checkCapability(forged, key, chunk(7), "read", 0));
    assert.notEqual(message, "allowed", forged);
    assert.ok(!message.includes(signature), "the refusal does not quote the signature");
  }
  for (const malformed of [
    "",
    "v1",
    "v2:a.0123456789abcdef:read:x:1:y",
    "x".repeat(MAX_CAPABILITY_LENGTH + 1),
  ]) {
    assert.equal(parseCapability(malformed), undefined);
    assert.match(
      refusal(() => checkCapability(malformed, key, chunk(7), "read", 0)),
      /malformed/,
    );
  }
  assert.equal(issuerOfKey("no-dot"), undefined);
});
