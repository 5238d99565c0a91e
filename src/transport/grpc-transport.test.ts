import assert from "node:assert/strict";
import { test } from "node:test";
import { status } from "@grpc/grpc-js";
import { NotLeaderError, SandstoreError, UnavailableError } from "../common/errors.ts";
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

test("transport failures become UnavailableError (EAGAIN or ETIMEDOUT); anything else EIO, never a bare string", () => {
  const of = (code: status) => statusToError({ code, details: "x" }, "h:1");
  for (const [code, errno] of [
    [status.UNAVAILABLE, "EAGAIN"],
    [status.DEADLINE_EXCEEDED, "ETIMEDOUT"],
    [status.CANCELLED, "EAGAIN"],
  ] as const) {
    const error = of(code);
    assert.ok(error instanceof UnavailableError, String(error));
    assert.equal(error.errno, errno);
    assert.equal(error.address, "h:1");
  }
  const internal = of(status.INTERNAL);
  assert.ok(internal instanceof SandstoreError && internal.code === "EIO");
  assert.equal(errorToStatus(new Error("boom")).code, status.INTERNAL);
});

test("an UnavailableError crosses the wire as itself, with its errno and detail", () => {
  const back = statusToError(
    errorToStatus(new UnavailableError("ETIMEDOUT", "", "no quorum answered")),
    "h:1",
  );
  assert.ok(back instanceof UnavailableError);
  assert.equal(back.errno, "ETIMEDOUT");
  assert.match(back.message, /no quorum answered/);
});
