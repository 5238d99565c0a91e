import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { test } from "node:test";
import { NODE_RUNTIME_FLAGS } from "./runtime-flags.ts";

const root = resolve(import.meta.dirname, "../..");

test("the sandstore command and the benchmark scripts start node with the runtime flags", async () => {
  const bin = await readFile(resolve(root, "bin/sandstore.js"), "utf8");
  assert.equal(bin.split("\n")[0], `#!/usr/bin/env -S node ${NODE_RUNTIME_FLAGS.join(" ")}`);
  const scripts: Record<string, string> = JSON.parse(
    await readFile(resolve(root, "package.json"), "utf8"),
  ).scripts;
  for (const name of ["bench", "bench:cluster", "bench:kv", "bench:compare"])
    assert.ok(
      scripts[name]?.startsWith(`node ${NODE_RUNTIME_FLAGS.join(" ")} `),
      `npm run ${name}: ${scripts[name]}`,
    );
});
