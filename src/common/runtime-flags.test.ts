import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { test } from "node:test";
import { missingRuntimeFlags, NODE_RUNTIME_FLAGS } from "./runtime-flags.ts";

test("missing runtime flags are named; a process started with them lacks none", () => {
  assert.deepEqual(missingRuntimeFlags([]), [...NODE_RUNTIME_FLAGS]);
  assert.deepEqual(missingRuntimeFlags(["--import", "tsx", ...NODE_RUNTIME_FLAGS]), []);
});

test("the benchmark scripts start node with the runtime flags", async () => {
  const root = resolve(import.meta.dirname, "../..");
  const scripts: Record<string, string> = JSON.parse(
    await readFile(resolve(root, "package.json"), "utf8"),
  ).scripts;
  for (const name of ["bench", "bench:cluster", "bench:kv", "bench:compare"])
    assert.ok(
      scripts[name]?.startsWith(`node ${NODE_RUNTIME_FLAGS.join(" ")} `),
      `npm run ${name}: ${scripts[name]}`,
    );
});
