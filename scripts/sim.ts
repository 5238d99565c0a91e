// Simulation campaign: `npm run sim -- --seeds N --steps M [--from S] [--nodes K]`, or one
// seed: `npm run sim -- --seed S --steps M`. `--files` runs the file-store simulation (three
// nodes) instead of the Raft one. Prints a summary; exits 1 on the first failure.
import { parseArgs } from "node:util";
import { runSimulation } from "../src/raft/testing/run-simulation.ts";
import { runFileStoreSimulation } from "../src/simulation/file-store-simulation.ts";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "100" },
    steps: { type: "string", default: "2000" },
    from: { type: "string", default: "1" },
    seed: { type: "string" },
    nodes: { type: "string", default: "3" },
    files: { type: "boolean", default: false },
  },
});
const steps = Number(values.steps);
const nodes = Number(values.nodes);
const first = Number(values.seed ?? values.from);
const count = values.seed ? 1 : Number(values.seeds);
const started = performance.now();
const totals: Record<string, number> = {};
for (let seed = first; seed < first + count; seed++) {
  try {
    const stats: Record<string, number> = values.files
      ? { ...runFileStoreSimulation({ seed, steps }) }
      : { ...runSimulation({ seed, steps, nodes }) };
    for (const [key, value] of Object.entries(stats))
      if (key !== "seed" && key !== "finalTerm") totals[key] = (totals[key] ?? 0) + value;
    if (values.seed) console.log(stats);
  } catch (error) {
    console.error(String(error instanceof Error ? error.message : error));
    process.exit(1);
  }
  if ((seed - first + 1) % 1000 === 0) console.log(`${seed - first + 1} seeds clean...`);
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `${count} seeds x ${steps} steps clean in ${seconds.toFixed(1)} s: ${JSON.stringify(totals)}`,
);
