/**
 * Peak resident memory of a running process, from Linux's /proc.
 */
import { readFile } from "node:fs/promises";

/** VmHWM (peak resident set) of `pid` in bytes, or undefined once the process is gone. */
export async function peakResidentBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
