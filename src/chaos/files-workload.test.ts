import assert from "node:assert/strict";
import { test } from "node:test";
import { checkLinearizable, type HistoryOperation } from "../raft/testing/linearizability.ts";
import { fileModel } from "./files-workload.ts";

let clock = 0;
/** One operation on key "0", run alone (its call and return around nothing else). */
function op(kind: string, params: object, result: string | undefined): HistoryOperation {
  const call = clock++;
  return {
    id: clock,
    key: "0",
    kind,
    value: JSON.stringify(params),
    call,
    returned: result === undefined ? undefined : clock++,
    result,
  };
}

test("the file model follows create, write, rename, read and unlink", () => {
  const history = [
    op("create", {}, "ok"),
    op("write", { offset: 2, data: "hi" }, "ok"),
    op("read", { name: "a", offset: 0, length: 10 }, "=\0\0hi"),
    op("rename", { name: "a" }, "ok"),
    op("read", { name: "a", offset: 0, length: 1 }, "ENOENT"),
    op("read", { name: "b", offset: 3, length: 5 }, "=i"),
    op("write", { offset: 0, data: "x" }, "ENOENT"),
    op("unlink", { name: "b" }, "ok"),
    op("read", { name: "b", offset: 0, length: 1 }, "ENOENT"),
  ];
  assert.deepEqual(checkLinearizable(history, 5000, fileModel), { ok: true });
});

test("the file model rejects a read of bytes never written, and a write acknowledged on no file", () => {
  const stale = [
    op("create", {}, "ok"),
    op("write", { offset: 0, data: "new" }, "ok"),
    op("read", { name: "a", offset: 0, length: 3 }, "=old"),
  ];
  assert.equal(checkLinearizable(stale, 5000, fileModel).ok, false);
  const phantom = [op("write", { offset: 0, data: "x" }, "ok")];
  assert.equal(checkLinearizable(phantom, 5000, fileModel).ok, false);
});

test("a mutation of unknown outcome may have happened or not", () => {
  const happened = [
    op("create", {}, "ok"),
    op("write", { offset: 0, data: "maybe" }, undefined),
    op("read", { name: "a", offset: 0, length: 5 }, "=maybe"),
  ];
  assert.deepEqual(checkLinearizable(happened, 5000, fileModel), { ok: true });
  const didNot = [
    op("create", {}, "ok"),
    op("write", { offset: 0, data: "maybe" }, undefined),
    op("read", { name: "a", offset: 0, length: 5 }, "="),
  ];
  assert.deepEqual(checkLinearizable(didNot, 5000, fileModel), { ok: true });
});
