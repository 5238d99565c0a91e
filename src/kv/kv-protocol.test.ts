import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { MAX_KEY_BYTES } from "./kv-command.ts";
import { parseRequest, valueReply } from "./kv-protocol.ts";

const parse = (text: string) => {
  const r = parseRequest(Buffer.from(text));
  if (r.kind === "error") return r.reply;
  if (r.kind === "set") return [r.kind, r.key.toString(), r.value.toString()];
  return [r.kind, r.key.toString()];
};

test("SPEC §5 row by row", () => {
  assert.deepEqual(parse("GET k"), ["get", "k"]);
  assert.deepEqual(parse("SET k v"), ["set", "k", "v"]);
  assert.deepEqual(parse("DELETE k"), ["delete", "k"]);
  assert.equal(parse("GET"), "ERR usage: GET <key>");
  assert.equal(parse("GET "), "ERR usage: GET <key>");
  assert.equal(parse("GET a b"), "ERR usage: GET <key>");
  assert.equal(parse("SET k"), "ERR usage: SET <key> <value>");
  assert.equal(parse("SET"), "ERR usage: SET <key> <value>");
  assert.equal(parse("SET  v"), "ERR usage: SET <key> <value>");
  assert.equal(parse("DELETE"), "ERR usage: DELETE <key>");
  assert.equal(parse("frob x"), 'ERR unknown command "FROB"');
  assert.equal(parse(""), 'ERR unknown command ""');
});

test("values keep inner and leading spaces; names are case-insensitive; CR is ignored; keys are case-sensitive", () => {
  assert.deepEqual(parse("SET k hello  big world"), ["set", "k", "hello  big world"]);
  assert.deepEqual(parse("SET k  leading"), ["set", "k", " leading"]);
  assert.deepEqual(parse("SET k "), ["set", "k", ""]);
  assert.deepEqual(parse("set Key v\r"), ["set", "Key", "v"]);
  assert.deepEqual(parse("gEt Key\r"), ["get", "Key"]);
  assert.deepEqual(parse("Delete KEY"), ["delete", "KEY"]);
  assert.equal(
    parse(`GET ${"k".repeat(MAX_KEY_BYTES + 1)}`),
    `ERR key longer than ${MAX_KEY_BYTES} bytes`,
  );
});

test("replies", () => {
  assert.equal(valueReply(Buffer.from("a b")).toString(), "VALUE a b\n");
  assert.equal(valueReply(undefined).toString(), "NOT_FOUND\n");
});

test("property: any line parses to one request or one single-line error, never a throw", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const line = Buffer.from(bytes.filter((b) => b !== 10));
      const request = parseRequest(line);
      if (request.kind === "error") assert.ok(!request.reply.includes("\n"), request.reply);
    }),
    { numRuns: 2000 },
  );
});
