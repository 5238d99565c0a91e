import assert from "node:assert/strict";
import { test } from "node:test";
import { resolverFromMembership } from "./endpoint-resolver.ts";
import { StaticMembership } from "./static-membership.ts";

test("static membership lists members in id order and resolves addresses", () => {
  const m = new StaticMembership("n2", [
    { id: "n3", address: "h:3" },
    { id: "n2", address: "h:2" },
    { id: "n1", address: "h:1" },
  ]);
  assert.deepEqual(
    m.members().map((n) => n.id),
    ["n1", "n2", "n3"],
  );
  assert.deepEqual(
    m.liveMembers().map((n) => n.id),
    ["n1", "n2", "n3"],
  );
  assert.deepEqual(m.self(), { id: "n2", address: "h:2" });
  m.setSelfAddress("h:22");
  assert.equal(resolverFromMembership(m).addressOf("n2"), "h:22");
  assert.equal(resolverFromMembership(m).addressOf("n9"), undefined);
});

test("static membership refuses duplicate ids and a self that is not a member", () => {
  assert.throws(
    () => new StaticMembership("n1", [{ id: "n2", address: "h:2" }]),
    /not in the member list/,
  );
  assert.throws(
    () =>
      new StaticMembership("n1", [
        { id: "n1", address: "a" },
        { id: "n1", address: "b" },
      ]),
    /unique/,
  );
});
