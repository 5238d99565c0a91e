/**
 * Child processes a test started and has not seen exit, killed with SIGKILL when the test
 * process exits. A test that fails before its own cleanup would otherwise leave a node
 * running, and a node holding the runner's pipes keeps the whole run from ending.
 */
import type { ChildProcess } from "node:child_process";

const live = new Set<ChildProcess>();
let hooked = false;

/** Tracks `child` until it exits; returns it. */
export function killOnExit<T extends ChildProcess>(child: T): T {
  if (!hooked) {
    hooked = true;
    process.once("exit", () => {
      for (const running of live) running.kill("SIGKILL");
    });
  }
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}
