/**
 * The randomized simulation campaign that guards every change: seeds x steps with every fault
 * on. A failure names its seed and the command that replays it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runSimulation } from "./run-simulation.ts";

const SEEDS = 500;
const STEPS = 2000;

test(`${SEEDS} seeds x ${STEPS} steps of simulated faults: safe, live and linearizable`, () => {
  let operations = 0;
  for (let seed = 1; seed <= SEEDS; seed++)
    operations += runSimulation({ seed, steps: STEPS }).operations;
  assert.ok(operations > SEEDS * 50, `the workload ran (${operations} operations)`);
});

test("five-node clusters too", () => {
  for (let seed = 10_001; seed <= 10_100; seed++) runSimulation({ seed, steps: STEPS, nodes: 5 });
});
