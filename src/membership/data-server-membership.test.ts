import assert from "node:assert/strict";
import { test } from "node:test";
import { DataServerMembership } from "./data-server-membership.ts";

test("a data server's view: itself, and the metadata servers it heard from, by role", () => {
  let heard = [{ id: "m2", address: "127.0.0.1:2" }];
  const membership = new DataServerMembership({
    self: { id: "d1", address: "127.0.0.1:11" },
    metadataServers: () => heard,
  });
  assert.deepEqual(membership.self(), { id: "d1", address: "127.0.0.1:11" });
  assert.deepEqual(
    membership.members().map((m) => [m.id, m.roles]),
    [
      ["d1", ["data"]],
      ["m2", ["metadata"]],
    ],
  );
  assert.deepEqual(
    membership.liveMembers("data").map((m) => m.id),
    ["d1"],
  );
  heard = [
    { id: "m1", address: "127.0.0.1:1" },
    { id: "m2", address: "127.0.0.1:2" },
  ];
  assert.deepEqual(
    membership.members("metadata").map((m) => m.address),
    ["127.0.0.1:1", "127.0.0.1:2"],
    "followed as reports are answered",
  );
});
