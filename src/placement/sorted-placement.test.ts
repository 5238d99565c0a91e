import assert from "node:assert/strict";
import { test } from "node:test";
import { SortedPlacement } from "./sorted-placement.ts";

test("sorted placement takes the first live nodes in id order, never more than there are", () => {
  const nodes = ["n3", "n1", "n4", "n2"].map((id) => ({
    id,
    address: `${id}:1`,
    roles: ["data" as const],
    freeBytes: undefined,
  }));
  const placement = new SortedPlacement();
  assert.deepEqual(
    placement.place("c", nodes, 3).map((n) => n.id),
    ["n1", "n2", "n3"],
  );
  assert.deepEqual(
    placement.place("c", nodes.slice(0, 2), 3).map((n) => n.id),
    ["n1", "n3"],
  );
  assert.deepEqual(placement.place("c", [], 3), []);
});
