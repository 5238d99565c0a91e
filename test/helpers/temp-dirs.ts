/**
 * Temporary directories for a test file: each call makes a new one, and all of them are
 * removed when the file's tests are done.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";

/** Returns a function that makes a fresh directory named `<prefix>XXXXXX` under the OS temp dir. */
export function temporaryDirectories(prefix: string): (name?: string) => Promise<string> {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  return async (name = prefix) => {
    const dir = await mkdtemp(join(tmpdir(), name));
    dirs.push(dir);
    return dir;
  };
}
