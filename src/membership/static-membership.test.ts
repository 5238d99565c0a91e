import assert from "node:assert/strict";
import { test } from "node:test";
import { resolverFromMembership } from "./endpoint-resolver.ts";
import { ALL_ROLES } from "./membership.ts";
import { StaticMembership } from "./static-membership.ts";

test("static membership lists members in id order and resolves addresses", () => {
  const m = new StaticMembership("n2", [
    { id: "n3", address: "h:3", roles: ALL_ROLES },
    { id: "n2", address: "h:2", roles: ALL_ROLES },
    { id: "n1", address: "h:1", roles: ALL_ROLES },
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
    () => new StaticMembership("n1", [{ id: "n2", address: "h:2", roles: ALL_ROLES }]),
    /not in the member list/,
  );
  assert.throws(
    () =>
      new StaticMembership("n1", [
        { id: "n1", address: "a", roles: ALL_ROLES },
        { id: "n1", address: "b", roles: ALL_ROLES },
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
      { id: "n1", address: "h:1", roles: ALL_ROLES },
      { id: "n2", address: "h:2", roles: ALL_ROLES },
      { id: "n3", address: "h:3", roles: ALL_ROLES },
    ],
    {
      liveness: {
        probe: async (node) => {
          if (!answering.has(node.id)) throw new Error("no answer");
          return {};
        },
        suspectAfterMs: 3000,
        intervalMs: 60_000,
        now: () => now,
      },
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

test("members have roles and report capacity: a role picks its members, a probe their free bytes", async () => {
  const m = new StaticMembership(
    "m1",
    [
      { id: "m1", address: "h:1", roles: ["metadata"] },
      { id: "d1", address: "h:2", roles: ["data"] },
      { id: "d2", address: "h:3", roles: ["data"] },
      { id: "hc", address: "h:4", roles: ALL_ROLES },
    ],
    {
      liveness: {
        probe: async (node) => ({ freeBytes: node.id === "d1" ? 1000 : undefined }),
        intervalMs: 60_000,
      },
      selfReport: () => ({ freeBytes: 7 }),
    },
  );
  assert.deepEqual(
    m.liveMembers("data").map((n) => n.id),
    ["d1", "d2", "hc"],
  );
  assert.deepEqual(
    m.members("metadata").map((n) => n.id),
    ["hc", "m1"],
  );
  assert.equal(m.members("data")[0]?.freeBytes, undefined, "unknown until it reports");
  await m.probeAll();
  assert.equal(m.members("data")[0]?.freeBytes, 1000);
  assert.equal(m.members("data")[1]?.freeBytes, undefined, "a report without capacity");
  assert.equal(m.members().find((n) => n.id === "m1")?.freeBytes, 7, "this node reports itself");
  assert.throws(
    () => new StaticMembership("x", [{ id: "x", address: "h:9", roles: [] }]),
    /no role/,
  );
  await m.close();
});

test("members that joined since start are taken in, live, at each round; repeats and roleless ones are not", async () => {
  const joined = [
    { id: "n4", address: "h:4", roles: ALL_ROLES },
    { id: "n1", address: "h:1", roles: ALL_ROLES },
    { id: "n5", address: "h:5", roles: [] },
  ];
  const m = new StaticMembership("n1", [{ id: "n1", address: "h:1", roles: ALL_ROLES }], {
    joined: () => joined,
  });
  assert.deepEqual(
    m.members().map((n) => n.id),
    ["n1"],
    "not before a round",
  );
  await m.probeAll();
  assert.deepEqual(
    m.liveMembers().map((n) => `${n.id}@${n.address}`),
    ["n1@h:1", "n4@h:4"],
  );
  joined[0] = { id: "n4", address: "h:44", roles: ALL_ROLES };
  m.takeJoined();
  assert.equal(m.members().find((n) => n.id === "n4")?.address, "h:44", "a new address is taken");
  await m.close();
});
