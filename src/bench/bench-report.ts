/**
 * Benchmark results as people and spreadsheets read them: an aligned table, and CSV rows
 * appended to a file under results/bench/ so runs accumulate and can be compared.
 */
import { appendFile, mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { PhaseResult } from "./file-bench.ts";

/** What a row is about besides the phase: when, against what, labelled how. */
export interface RunInfo {
  /** ISO time of the run's start. */
  readonly time: string;
  /** The system or target, e.g. "sandstore 127.0.0.1:7001" or "mount /mnt/mfs". */
  readonly target: string;
  readonly label: string;
}

const COLUMNS = [
  "time",
  "target",
  "label",
  "phase",
  "concurrency",
  "block_size",
  "seconds",
  "ops",
  "ops_per_s",
  "mib_per_s",
  "p50_ms",
  "p95_ms",
  "p99_ms",
  "max_ms",
  "errors",
  "first_error",
] as const;

export const CSV_HEADER = COLUMNS.join(",");

/** One CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180). */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(run: RunInfo, r: PhaseResult): string {
  return [
    run.time,
    run.target,
    run.label,
    r.phase,
    r.concurrency,
    r.blockSize,
    r.seconds.toFixed(3),
    r.ops,
    r.opsPerSecond.toFixed(1),
    r.mibPerSecond.toFixed(2),
    r.p50Ms.toFixed(3),
    r.p95Ms.toFixed(3),
    r.p99Ms.toFixed(3),
    r.maxMs.toFixed(3),
    r.errors,
    r.firstError ?? "",
  ]
    .map(csvField)
    .join(",");
}

/** Appends the rows to `path`, writing the header first when the file is new or empty. */
export async function appendCsv(
  path: string,
  run: RunInfo,
  results: readonly PhaseResult[],
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const size = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  const lines = results.map((r) => csvRow(run, r));
  await appendFile(path, `${size === 0 ? `${CSV_HEADER}\n` : ""}${lines.join("\n")}\n`);
}

/** The results as an aligned table, one line per phase. */
export function formatTable(results: readonly PhaseResult[]): string {
  const header = [
    "phase",
    "conc",
    "ops/s",
    "MiB/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
    "errors",
  ];
  const rows = results.map((r) => [
    r.phase,
    String(r.concurrency),
    r.opsPerSecond.toFixed(0),
    r.blockSize > 0 ? r.mibPerSecond.toFixed(1) : "-",
    r.p50Ms.toFixed(2),
    r.p95Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.maxMs.toFixed(2),
    String(r.errors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const errors = results
    .filter((r) => r.firstError !== undefined)
    .map((r) => `${r.phase}: first error: ${r.firstError}`);
  return [line(header), ...rows.map(line), ...errors].join("\n");
}
