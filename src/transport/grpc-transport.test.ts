import assert from "node:assert/strict";
import { test } from "node:test";
import { status } from "@grpc/grpc-js";
import { NotLeaderError, SandstoreError } from "../common/errors.ts";
import { errorToStatus, statusToError } from "./grpc-transport.ts";

test("typed errors survive the trip through a gRPC status, non-ASCII paths included", () => {
  const original = new SandstoreError("ENOTEMPTY", "/ünïcode/dir", "3 entries");
  const back = statusToError(errorToStatus(original), "h:1");
  assert.ok(back instanceof SandstoreError);
  assert.equal(back.code, "ENOTEMPTY");
  assert.equal(back.path, "/ünïcode/dir");
  assert.equal(back.detail, "3 entries");
  assert.equal(back.message, original.message);

  const leader = statusToError(errorToStatus(new NotLeaderError("n2", "10.0.0.2:7001")), "h:1");
  assert.ok(leader instanceof NotLeaderError);
  assert.equal(leader.leaderAddress, "10.0.0.2:7001");
  assert.equal(leader.leaderId, "n2");
});

test("transport failures become EAGAIN and ETIMEDOUT; anything else EIO, never a bare string", () => {
  const of = (code: status) => statusToError({ code, details: "x" }, "h:1") as SandstoreError;
  assert.equal(of(status.UNAVAILABLE).code, "EAGAIN");
  assert.equal(of(status.DEADLINE_EXCEEDED).code, "ETIMEDOUT");
  assert.equal(of(status.INTERNAL).code, "EIO");
  assert.equal(errorToStatus(new Error("boom")).code, status.INTERNAL);
});
