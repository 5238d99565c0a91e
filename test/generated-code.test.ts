/**
 * The generated code in src/gen/ must be what `npm run proto` makes from proto/ now.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { test } from "node:test";

const root = resolve(import.meta.dirname, "..");

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await files(path)));
    else out.push(path);
  }
  return out.sort();
}

test("src/gen is up to date with proto/ (run `npm run proto` when this fails)", async () => {
  const out = await mkdtemp(join(tmpdir(), "sandstore-gen-"));
  try {
    execFileSync(join(root, "node_modules/.bin/buf"), ["generate", "--output", out], {
      cwd: root,
      stdio: "pipe",
    });
    const committed = join(root, "src/gen");
    const fresh = join(out, "src/gen");
    const committedFiles = (await files(committed)).map((f) => relative(committed, f));
    const freshFiles = (await files(fresh)).map((f) => relative(fresh, f));
    assert.deepEqual(committedFiles, freshFiles);
    for (const file of freshFiles) {
      const same =
        (await readFile(join(committed, file), "utf8")) ===
        (await readFile(join(fresh, file), "utf8"));
      assert.ok(same, `src/gen/${file} is stale`);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
