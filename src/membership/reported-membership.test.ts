import assert from "node:assert/strict";
import { test } from "node:test";
import { ReportedMembership } from "./reported-membership.ts";

test("data servers join by reporting and are live while their reports keep coming", () => {
  const clock = { now: 0 };
  const membership = new ReportedMembership({
    selfId: "m1",
    metadataServers: [
      { id: "m1", address: "127.0.0.1:1" },
      { id: "m2", address: "127.0.0.1:2" },
    ],
    suspectAfterMs: 3000,
    now: () => clock.now,
  });
  assert.deepEqual(membership.self(), { id: "m1", address: "127.0.0.1:1" });
  assert.deepEqual(membership.members("data"), [], "no data server before one reports");
  membership.report({ id: "d2", address: "127.0.0.1:12", freeBytes: 50 });
  membership.report({ id: "d1", address: "127.0.0.1:11", freeBytes: 100 });
  assert.deepEqual(
    membership.liveMembers("data").map((m) => [m.id, m.freeBytes, m.roles]),
    [
      ["d1", 100, ["data"]],
      ["d2", 50, ["data"]],
    ],
  );
  assert.deepEqual(
    membership.members().map((m) => m.id),
    ["d1", "d2", "m1", "m2"],
  );
  assert.equal(membership.addressOf("d2"), "127.0.0.1:12");
  clock.now = 2500;
  membership.report({ id: "d2", address: "127.0.0.1:13", freeBytes: 40 });
  clock.now = 3500;
  assert.deepEqual(
    membership.liveMembers("data").map((m) => m.id),
    ["d2"],
    "d1 went silent",
  );
  assert.deepEqual(
    membership.members("data").map((m) => m.id),
    ["d1", "d2"],
    "a silent data server stays a member, for repair to count its absence",
  );
  assert.equal(membership.addressOf("d2"), "127.0.0.1:13", "a restart at a new port is followed");
  assert.deepEqual(
    membership.liveMembers("metadata").map((m) => m.id),
    ["m1", "m2"],
  );
});

test("reports with a bad id or a metadata server's id are refused", () => {
  const membership = new ReportedMembership({
    selfId: "m1",
    metadataServers: [{ id: "m1", address: "127.0.0.1:1" }],
  });
  assert.throws(() => membership.report({ id: "m1", address: "x:1", freeBytes: 0 }), RangeError);
  assert.throws(
    () => membership.report({ id: "bad id!", address: "x:1", freeBytes: 0 }),
    RangeError,
  );
  assert.throws(
    () => new ReportedMembership({ selfId: "m9", metadataServers: [{ id: "m1", address: "a:1" }] }),
    RangeError,
  );
});

test("a data server's inventory is kept once it has reported, and read while it is fresh", () => {
  const clock = { now: 0 };
  const membership = new ReportedMembership({
    selfId: "m1",
    metadataServers: [{ id: "m1", address: "127.0.0.1:1" }],
    now: () => clock.now,
  });
  const chunks = [{ id: "0".repeat(32), size: 5, checksum: 0, writtenAtMs: 0 }];
  assert.throws(() => membership.recordInventory("d1", chunks), /before its report/);
  membership.report({ id: "d1", address: "127.0.0.1:11", freeBytes: 100 });
  membership.recordInventory("d1", chunks);
  assert.deepEqual(membership.inventoryOf("d1", 10_000), chunks);
  assert.equal(membership.inventoryOf("d2", 10_000), undefined, "d2 never sent one");
  clock.now = 10_001;
  assert.equal(membership.inventoryOf("d1", 10_000), undefined, "too old: ask d1 instead");
});
