/** Whether a program is on the PATH: how the benchmarks, the tests and `sandstore up` decide what they can run. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** True when `sh -c "command -v <name>"` finds `name`. */
export function commandInstalled(name: string): Promise<boolean> {
  return run("sh", ["-c", `command -v ${name}`]).then(
    () => true,
    () => false,
  );
}
