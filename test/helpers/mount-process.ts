/**
 * `sandstore mount` processes for tests: started on a fresh empty directory, ready once the
 * kernel lists the mount; `unmount` sends Ctrl-C and waits for a clean exit with the mount gone.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnCli, waitFor } from "./node-process.ts";

/** Whether the kernel lists a mount at `dir`. */
export async function isMounted(dir: string): Promise<boolean> {
  const mounts = await readFile("/proc/self/mounts", "utf8");
  return mounts.split("\n").some((line) => line.split(" ")[1] === dir);
}

export interface MountProcess {
  readonly dir: string;
  /** Ctrl-C; resolves with what the process printed once it exited and the mount is gone. */
  unmount(): Promise<string>;
}

export async function startMount(
  cluster: string,
  args: readonly string[] = [],
): Promise<MountProcess> {
  const dir = await mkdtemp(join(tmpdir(), "sandstore-mount-"));
  const child: ChildProcess = spawnCli(["mount", dir, "--cluster", cluster, ...args]);
  let output = "";
  child.stdout?.on("data", (piece) => {
    output += String(piece);
  });
  child.stderr?.on("data", (piece) => {
    output += String(piece);
  });
  const exited = new Promise<number | null>((done) => child.once("exit", done));
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  await waitFor(async () => {
    if (exitCode !== undefined) throw new Error(`sandstore mount exited ${exitCode}: ${output}`);
    return isMounted(dir);
  }, `the mount at ${dir}`);
  return {
    dir,
    async unmount() {
      child.kill("SIGINT");
      const code = await exited;
      if (code !== 0) throw new Error(`sandstore mount exited ${code}: ${output}`);
      if (await isMounted(dir)) throw new Error(`${dir} is still mounted`);
      await rm(dir, { recursive: true, force: true });
      return output;
    },
  };
}
