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
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", ...flags, ...selected],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
