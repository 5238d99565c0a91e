import assert from "node:assert/strict";
import { test } from "node:test";
import { SandstoreError } from "./errors.ts";
import { isSameOrBelow, normalizePath, parentAndName } from "./paths.ts";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof SandstoreError) return error.code;
    throw error;
  }
  return "ok";
}

test("normalizePath collapses slashes and keeps the root", () => {
  assert.equal(normalizePath("/"), "/");
  assert.equal(normalizePath("//a///b/"), "/a/b");
  assert.equal(normalizePath("/ä/日本"), "/ä/日本");
});

test("normalizePath refuses what SPEC §3 refuses", () => {
  assert.equal(
    code(() => normalizePath("a/b")),
    "EINVAL",
  );
  assert.equal(
    code(() => normalizePath("")),
    "EINVAL",
  );
  assert.equal(
    code(() => normalizePath("/a/../b")),
    "EINVAL",
  );
  assert.equal(
    code(() => normalizePath("/a/./b")),
    "EINVAL",
  );
  assert.equal(
    code(() => normalizePath("/a\0b")),
    "EINVAL",
  );
  assert.equal(
    code(() => normalizePath(`/${"x".repeat(255)}`)),
    "ok",
  );
  assert.equal(
    code(() => normalizePath(`/${"x".repeat(256)}`)),
    "ENAMETOOLONG",
  );
  // 128 two-byte characters are 256 bytes: the limit is in bytes, not characters.
  assert.equal(
    code(() => normalizePath(`/${"é".repeat(128)}`)),
    "ENAMETOOLONG",
  );
  assert.equal(
    code(() => normalizePath(`/${"a/".repeat(2048)}`)),
    "ENAMETOOLONG",
  );
});

test("parentAndName and isSameOrBelow", () => {
  assert.deepEqual(parentAndName("/a"), { parent: "/", name: "a" });
  assert.deepEqual(parentAndName("/a/b/c"), { parent: "/a/b", name: "c" });
  assert.ok(isSameOrBelow("/a/b", "/a"));
  assert.ok(isSameOrBelow("/a", "/a"));
  assert.ok(!isSameOrBelow("/ab", "/a"));
  assert.ok(isSameOrBelow("/x", "/"));
});
