import assert from "node:assert/strict";
import { test } from "node:test";
import { SimulationFailure } from "../raft/testing/simulator.ts";
import { runFileStoreSimulation } from "./file-store-simulation.ts";

const SEEDS = 200;
const STEPS = 3000;

test(`the file store under faults: ${SEEDS} seeds, every history linearizable`, () => {
  let operations = 0;
  let retries = 0;
  let crashes = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const stats = runFileStoreSimulation({ seed, steps: STEPS });
    operations += stats.operations;
    retries += stats.retries;
    crashes += stats.crashes;
  }
  // The faults must have bitten, or the check proves little.
  assert.ok(retries > SEEDS, `retries: ${retries}`);
  assert.ok(crashes > SEEDS, `crashes: ${crashes}`);
  assert.ok(operations > SEEDS * 100, `operations: ${operations}`);
});

test("without client sessions, a retried mutation applies twice and the check catches it", () => {
  const failures = [];
  for (let seed = 1; seed <= 40; seed++) {
    try {
      runFileStoreSimulation({ seed, steps: STEPS, sessions: false });
    } catch (error) {
      assert.ok(error instanceof SimulationFailure, String(error));
      failures.push(seed);
    }
  }
  assert.ok(failures.length > 0, "some seed shows a double-applied retry");
});

test("a seed replays exactly", () => {
  assert.deepEqual(
    runFileStoreSimulation({ seed: 7, steps: 800 }),
    runFileStoreSimulation({ seed: 7, steps: 800 }),
  );
});
