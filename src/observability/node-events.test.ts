import assert from "node:assert/strict";
import { test } from "node:test";
import type { Member } from "../membership/membership.ts";
import {
  MAX_NODE_EVENTS,
  membershipWatcher,
  NodeEvents,
  recordingElections,
} from "./node-events.ts";

test("the ring keeps the newest events, numbered, and hands out copies", () => {
  let now = 1000;
  const events = new NodeEvents(() => now++);
  for (let i = 0; i < MAX_NODE_EVENTS + 10; i++) events.record("repair", `repair ${i}`);
  const kept = events.recent();
  assert.equal(kept.length, MAX_NODE_EVENTS);
  assert.equal(kept[0]?.sequence, 11);
  assert.equal(kept.at(-1)?.message, `repair ${MAX_NODE_EVENTS + 9}`);
  assert.ok(kept.every((event, i) => i === 0 || event.timeMs > (kept[i - 1]?.timeMs ?? 0)));
  const first = kept[0];
  assert.ok(first);
  first.message = "changed";
  assert.notEqual(events.recent()[0]?.message, "changed");
});

test("elections are recorded with their term, and the observer still hears them", () => {
  const events = new NodeEvents();
  const heard: string[] = [];
  const observer = recordingElections(
    { onLeaderChange: (leader, term) => heard.push(`${leader}@${term}`) },
    events,
  );
  observer.onLeaderChange?.("n2", 7);
  assert.deepEqual(heard, ["n2@7"]);
  assert.deepEqual(
    events.recent().map((e) => [e.kind, e.subject, e.term]),
    [["election", "n2", 7]],
  );
});

test("membership changes are found by comparing views: joins, leaves, liveness, voters", () => {
  const events = new NodeEvents();
  const member = (id: string): Member => ({
    id,
    address: `127.0.0.1:${id.slice(1)}`,
    roles: ["metadata", "data"],
    freeBytes: undefined,
  });
  let members = [member("n1"), member("n2")];
  let live = new Set(["n1", "n2"]);
  let voters = ["n1", "n2"];
  const watcher = membershipWatcher(
    events,
    {
      members: () => members,
      liveMembers: () => members.filter((m) => live.has(m.id)),
    },
    () => ({ voters, learners: [] }),
  );
  watcher.check();
  assert.deepEqual(events.recent(), [], "the first look only takes the view");
  live = new Set(["n1"]);
  watcher.check();
  live = new Set(["n1", "n2"]);
  members = [...members, member("n3")];
  voters = ["n1", "n2", "n3"];
  watcher.check();
  members = members.filter((m) => m.id !== "n2");
  watcher.check();
  watcher.check();
  assert.deepEqual(
    events.recent().map((e) => e.message),
    [
      "n2 is no longer live",
      "n2 is live again",
      "n3 joined at 127.0.0.1:3",
      "the Raft group is now voters n1,n2,n3; learners none",
      "n2 left the membership",
    ],
  );
});
