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

test("with a probe, a member silent for longer than the suspicion time is not live", async () => {
  let now = 1000;
  const answering = new Set(["n1", "n3"]);
  const m = new StaticMembership(
    "n1",
    [
      { id: "n1", address: "h:1" },
      { id: "n2", address: "h:2" },
      { id: "n3", address: "h:3" },
    ],
    {
      probe: async (node) => answering.has(node.id),
      suspectAfterMs: 3000,
      intervalMs: 60_000,
      now: () => now,
    },
  );
  assert.deepEqual(
    m.liveMembers().map((n) => n.id),
    ["n1", "n2", "n3"],
    "members start live",
  );
  now += 2000;
  await m.probeAll();
  now += 2000;
  assert.deepEqual(
    m.liveMembers().map((n) => n.id),
    ["n1", "n3"],
    "n2 has been silent for 4 s",
  );
  answering.add("n2");
  await m.probeAll();
  assert.deepEqual(
    m.liveMembers().map((n) => n.id),
    ["n1", "n2", "n3"],
    "an answer brings it back",
  );
  answering.clear();
  now += 10_000;
  assert.deepEqual(
    m.liveMembers().map((n) => n.id),
    ["n1"],
    "this node is always live to itself",
  );
  await m.close();
});
