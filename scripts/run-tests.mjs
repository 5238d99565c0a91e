// Runs every *.test.ts under src/, test/ and bench/ with node's test runner through tsx.
// Node 20's --test takes no glob patterns, so the files are listed here.
// Extra arguments are passed on (e.g. --test-name-pattern).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...find(path));
    else if (name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

const files = ["src", "test", "bench"].flatMap((dir) => {
  try {
    return find(dir);
  } catch {
    return [];
  }
});
const only = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const flags = process.argv.slice(2).filter((arg) => arg.startsWith("--"));
const selected = only.length > 0 ? only : files.sort();
// A test file whose test failed before its cleanup can leave a handle open (a node it started
// holding a pipe): --test-force-exit ends each file once its tests are done, so one failure
// cannot hold the run until CI's deadline. No single test is meant to take 15 minutes (the
// longest take about 3), and the whole run about 20: past 60 it is stopped and fails.
const TEST_TIMEOUT_MS = 15 * 60_000;
const RUN_TIMEOUT_MS = 60 * 60_000;
const result = spawnSync(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    "--test-concurrency=2",
    "--test-force-exit",
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    ...flags,
    ...selected,
  ],
  { stdio: "inherit", timeout: RUN_TIMEOUT_MS, killSignal: "SIGKILL" },
);
if (result.error) console.error(`the test run did not finish: ${result.error.message}`);
process.exit(result.status ?? 1);
