/**
 * The physical limits, measured with fio (Debian's package) on the directory the systems
 * store their data in: sequential 1 MiB direct writes and reads, and 4 KiB appends with an
 * fdatasync after each (the cost of one durable small write).
 */
import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** What one fio job did, per second. */
export interface FioFigure {
  readonly mibPerSecond: number;
  readonly iops: number;
}

export interface FioLimits {
  readonly sequentialWrite: FioFigure;
  readonly syncedAppend: FioFigure;
  readonly sequentialRead: FioFigure;
}

/**
 * The figure of the one job in fio's `--output-format=json` output, for `direction`. Throws
 * naming what is missing when the output is not fio's.
 */
export function parseFioJson(text: string, direction: "read" | "write"): FioFigure {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`fio printed no JSON: ${text.slice(0, 200)}`);
  }
  const job = (parsed as { jobs?: Array<Record<string, unknown>> }).jobs?.[0];
  const side = job?.[direction] as { bw_bytes?: unknown; iops?: unknown } | undefined;
  if (typeof side?.bw_bytes !== "number" || typeof side.iops !== "number")
    throw new Error(`fio's JSON has no jobs[0].${direction}.bw_bytes and iops`);
  return { mibPerSecond: side.bw_bytes / (1024 * 1024), iops: side.iops };
}

async function fio(
  dir: string,
  args: readonly string[],
  direction: "read" | "write",
): Promise<FioFigure> {
  const { stdout } = await run(
    "fio",
    [`--filename=${join(dir, "fio.dat")}`, "--ioengine=psync", "--output-format=json", ...args],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return parseFioJson(stdout, direction);
}

/** Runs the three jobs in `dir` with files of `sizeMiB` (appends: a sixteenth of it). */
export async function measureLimits(dir: string, sizeMiB: number): Promise<FioLimits> {
  try {
    const size = `--size=${sizeMiB}M`;
    const sequentialWrite = await fio(
      dir,
      ["--name=seqwrite", "--rw=write", "--bs=1M", "--direct=1", size, "--end_fsync=1"],
      "write",
    );
    const sequentialRead = await fio(
      dir,
      ["--name=seqread", "--rw=read", "--bs=1M", "--direct=1", size],
      "read",
    );
    await rm(join(dir, "fio.dat"), { force: true });
    const appendSize = `--size=${Math.max(1, Math.floor(sizeMiB / 16))}M`;
    const syncedAppend = await fio(
      dir,
      ["--name=append", "--rw=write", "--bs=4k", "--fdatasync=1", appendSize],
      "write",
    );
    return { sequentialWrite, syncedAppend, sequentialRead };
  } finally {
    await rm(join(dir, "fio.dat"), { force: true });
  }
}
