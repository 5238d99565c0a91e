import assert from "node:assert/strict";
import { test } from "node:test";
import { waitFor } from "../../test/helpers/node-process.ts";
import { PeriodicTask } from "./periodic-task.ts";

test("a periodic task runs at once and again; a failed run is reported and the schedule goes on", async () => {
  let runs = 0;
  const errors: unknown[] = [];
  const task = new PeriodicTask(
    async () => {
      runs++;
      if (runs === 2) throw new Error("second run fails");
    },
    1,
    (error) => errors.push(error),
  );
  task.start();
  await waitFor(async () => runs >= 4, "four runs", 5000);
  await task.stop();
  assert.ok(task.isStopped);
  const after = runs;
  assert.equal(errors.length, 1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(runs, after, "no run after stop");
});
