import assert from "node:assert/strict";
import { test } from "node:test";
import { seededRandom } from "../raft/core/random.ts";
import { partitionShape } from "./nemesis.ts";

test("every partition shape cuts symmetric pairs or one direction, and a seed replays it", () => {
  const ids = ["n1", "n2", "n3", "n4", "n5"];
  const seen = new Set<string>();
  for (let seed = 1; seed <= 200; seed++) {
    const { description, faults } = partitionShape(ids, seededRandom(seed));
    assert.deepEqual(partitionShape(ids, seededRandom(seed)).faults, faults, "replays");
    seen.add(description.split(":")[0]!);
    faults.forEach((f, i) => {
      for (const peer of f.drop ?? []) {
        const j = ids.indexOf(peer);
        assert.ok(faults[j]!.drop?.includes(ids[i]!), `${description}: ${peer} cut both ways`);
      }
    });
    if (description.includes("one-way"))
      assert.equal(faults.filter((f) => (f.dropFrom ?? []).length > 0).length, 1);
  }
  assert.deepEqual([...seen].sort(), [
    "partition bridge",
    "partition halves",
    "partition lone",
    "partition one-way",
  ]);
});
