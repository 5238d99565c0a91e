import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import type { Member } from "../membership/membership.ts";
import { RendezvousPlacement } from "./rendezvous-placement.ts";

const nodes: Member[] = Array.from({ length: 6 }, (_, i) => ({
  id: `n${i + 1}`,
  address: `h:${i}`,
  roles: ["data"],
  freeBytes: undefined,
}));
const ids = Array.from({ length: 6000 }, () => randomBytes(16).toString("hex"));
const placement = new RendezvousPlacement();

test("rendezvous placement spreads chunks evenly over distinct nodes", () => {
  const load = new Map<string, number>();
  for (const id of ids) {
    const chosen = placement.place(id, nodes, 3);
    assert.equal(new Set(chosen.map((n) => n.id)).size, 3);
    for (const n of chosen) load.set(n.id, (load.get(n.id) ?? 0) + 1);
  }
  const expected = (ids.length * 3) / nodes.length;
  for (const [id, count] of load)
    assert.ok(
      Math.abs(count - expected) < expected * 0.1,
      `${id} holds ${count}, expected about ${expected}`,
    );
  assert.deepEqual(
    placement.place(ids[0]!, nodes, 3),
    placement.place(ids[0]!, [...nodes].reverse(), 3),
    "order of candidates does not matter",
  );
});

test("when a node leaves, only the chunks it held move", () => {
  const without = nodes.filter((n) => n.id !== "n3");
  let moved = 0;
  for (const id of ids) {
    const before = placement.place(id, nodes, 3).map((n) => n.id);
    const after = placement.place(id, without, 3).map((n) => n.id);
    const kept = before.filter((n) => n !== "n3");
    assert.deepEqual(
      after.slice(0, kept.length).sort(),
      kept.sort(),
      "survivors keep their chunks",
    );
    if (before.includes("n3")) moved++;
  }
  assert.ok(moved < ids.length * 0.6, `${moved} of ${ids.length} chunks had a copy on n3`);
});

test("with free space known, chunks go to nodes in proportion to it: an empty new node fills first", () => {
  const sized = nodes.map((node, i) => ({ ...node, freeBytes: i === 5 ? 5_000 : 1_000 }));
  const load = new Map<string, number>();
  for (const id of ids) {
    const [first] = placement.place(id, sized, 1);
    if (first) load.set(first.id, (load.get(first.id) ?? 0) + 1);
  }
  // n6 has 5 of the 10 units of free space: about half of the first copies.
  const share = (load.get("n6") ?? 0) / ids.length;
  assert.ok(share > 0.4 && share < 0.6, `n6 took ${share} of the chunks`);
  const partly = sized.map((node, i) => (i === 0 ? { ...node, freeBytes: undefined } : node));
  const even = new Map<string, number>();
  for (const id of ids) {
    const [first] = placement.place(id, partly, 1);
    if (first) even.set(first.id, (even.get(first.id) ?? 0) + 1);
  }
  const n6 = (even.get("n6") ?? 0) / ids.length;
  assert.ok(n6 < 0.25, `with a capacity unknown every node weighs the same (n6 took ${n6})`);
});
