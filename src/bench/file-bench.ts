/**
 * The file benchmark: phases of one operation each, run by C concurrent workers for a fixed
 * time against any BenchFileSystem, measuring what a client sees (latency per operation,
 * operations and MiB per second, errors).
 *
 * - write: each worker creates its own file and appends blocks; the file is closed (durable)
 *   before the phase's clock stops.
 * - read: each worker reads the file it wrote, block by block, from the start again at its end
 *   (or, with `readOnce`, until its end).
 * - stat: each worker stats the files the earlier phases made, round robin.
 * - create: each worker creates empty files (create, then close) in a shared directory.
 * - smallfile: each worker creates small files and writes them whole (create, write, close:
 *   durable), in a directory of their own.
 * - listdir: each worker lists that directory (or the run's directory) in full; with
 *   `listEntries`, the directory is first filled (untimed) to at least that many entries.
 */
import type { BenchFileSystem } from "./bench-file-system.ts";
import { LatencyHistogram } from "./latency-histogram.ts";

export const FILE_PHASES = ["write", "read", "stat", "create", "smallfile", "listdir"] as const;
export type FilePhase = (typeof FILE_PHASES)[number];

/** Limits that keep a mistyped flag from filling the disk or the machine. */
export const MAX_CONCURRENCY = 1024;
export const MAX_BLOCK_SIZE = 64 * 1024 * 1024;
/** A phase stops once errors are this many and nothing has succeeded: it is not load, it is broken. */
const MAX_ERRORS_WITHOUT_SUCCESS = 100;

export interface FileBenchOptions {
  readonly phases: readonly FilePhase[];
  readonly concurrency: number;
  /** Seconds per phase. */
  readonly durationS: number;
  /** Bytes per write and per read. */
  readonly blockSize: number;
  /** Most bytes the write phase writes in all (each worker stops at its share). */
  readonly maxWriteBytes: number;
  /** The run's directory; it must not exist. */
  readonly dir: string;
  /** The read phase ends when each worker has read its file once. Default false. */
  readonly readOnce?: boolean;
  /** Bytes of each file the smallfile phase writes. Default 4,096. */
  readonly smallFileSize?: number;
  /** Before listdir, fill the listed directory to at least this many entries. Default 0. */
  readonly listEntries?: number;
}

/** Created paths kept for the stat phase; the rest are only counted. */
const MAX_TRACKED_PATHS = 100_000;

function recordCreated(state: RunState, path: string): void {
  state.createdCount++;
  if (state.created.length < MAX_TRACKED_PATHS) state.created.push(path);
}

/** Most entries a listdir phase may ask to be filled in: a mistyped flag is not a week of creates. */
export const MAX_LIST_ENTRIES = 1_000_000;

export interface PhaseResult {
  readonly phase: FilePhase;
  readonly concurrency: number;
  /** Bytes per operation for write, read and smallfile; 0 for the others. */
  readonly blockSize: number;
  /** Wall time of the phase, s (the write phase includes its closing fsyncs). */
  readonly seconds: number;
  readonly ops: number;
  readonly opsPerSecond: number;
  /** MiB per second for write, read and smallfile; 0 for the others. */
  readonly mibPerSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly errors: number;
  /** The first error's message, when there was one: what went wrong, not only how often. */
  readonly firstError?: string;
}

/** Progress of the running phase, for a display. */
export type BenchProgress = (phase: FilePhase, elapsedS: number, ops: number) => void;

/** Throws RangeError naming the first option that is out of bounds or inconsistent. */
export function validateFileBenchOptions(o: FileBenchOptions): void {
  if (o.phases.length === 0) throw new RangeError("no phases to run");
  for (const phase of o.phases)
    if (!FILE_PHASES.includes(phase))
      throw new RangeError(`unknown phase "${phase}": choose from ${FILE_PHASES.join(", ")}`);
  if (o.phases.includes("read") && o.phases.indexOf("write") > o.phases.indexOf("read"))
    throw new RangeError("the read phase reads what the write phase wrote: put write before it");
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > MAX_CONCURRENCY)
    throw new RangeError(`concurrency ${o.concurrency} is not 1 to ${MAX_CONCURRENCY}`);
  if (!(o.durationS > 0)) throw new RangeError(`duration ${o.durationS} s is not positive`);
  if (!Number.isInteger(o.blockSize) || o.blockSize < 1 || o.blockSize > MAX_BLOCK_SIZE)
    throw new RangeError(`block size ${o.blockSize} is not 1 to ${MAX_BLOCK_SIZE} bytes`);
  if (!(o.maxWriteBytes >= o.blockSize))
    throw new RangeError(`max write bytes ${o.maxWriteBytes} is below one block`);
  if (!o.dir.startsWith("/") || o.dir === "/") throw new RangeError(`bad run directory ${o.dir}`);
  const small = o.smallFileSize ?? 4096;
  if (!Number.isInteger(small) || small < 1 || small > MAX_BLOCK_SIZE)
    throw new RangeError(`small file size ${small} is not 1 to ${MAX_BLOCK_SIZE} bytes`);
  const entries = o.listEntries ?? 0;
  if (!Number.isInteger(entries) || entries < 0 || entries > MAX_LIST_ENTRIES)
    throw new RangeError(`list entries ${entries} is not 0 to ${MAX_LIST_ENTRIES}`);
}

/** What one phase leaves for the next ones. */
interface RunState {
  /** Each worker's written file and its length. */
  written: Array<{ path: string; bytes: number }>;
  /** Files in `<dir>/files`, counted. */
  createdCount: number;
  /** The first MAX_TRACKED_PATHS of them, for stat: a long create phase must not fill memory. */
  created: string[];
}

/** Runs `o.phases` in order against `fs`; the run's directory is left for the caller. */
export async function runFileBench(
  fs: BenchFileSystem,
  o: FileBenchOptions,
  progress?: BenchProgress,
): Promise<PhaseResult[]> {
  validateFileBenchOptions(o);
  await fs.mkdir(`${o.dir}/files`);
  await fs.mkdir(`${o.dir}/small`);
  const state: RunState = { written: [], createdCount: 0, created: [] };
  const results: PhaseResult[] = [];
  for (const phase of o.phases) results.push(await runPhase(fs, o, phase, state, progress));
  return results;
}

async function runPhase(
  fs: BenchFileSystem,
  o: FileBenchOptions,
  phase: FilePhase,
  state: RunState,
  progress: BenchProgress | undefined,
): Promise<PhaseResult> {
  if (phase === "listdir") await fillDirectory(fs, o, state);
  const bytesPerOp =
    phase === "write" || phase === "read"
      ? o.blockSize
      : phase === "smallfile"
        ? (o.smallFileSize ?? 4096)
        : 0;
  const block = Buffer.alloc(phase === "write" || phase === "smallfile" ? bytesPerOp : 0);
  for (let i = 0; i + 4 <= block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
  const histograms = Array.from({ length: o.concurrency }, () => new LatencyHistogram());
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + o.durationS * 1000;
  const succeeded = () => histograms.reduce((sum, h) => sum + h.count, 0);
  const running = () =>
    performance.now() < deadline && !(errors >= MAX_ERRORS_WITHOUT_SUCCESS && succeeded() === 0);
  const timed = async (worker: number, operation: () => Promise<unknown>) => {
    const t = performance.now();
    try {
      await operation();
      histograms[worker]!.record(performance.now() - t);
      return true;
    } catch (error) {
      errors++;
      firstError ??= error instanceof Error ? error.message : String(error);
      return false;
    }
  };
  const ticker = progress
    ? setInterval(() => progress(phase, (performance.now() - started) / 1000, succeeded()), 250)
    : undefined;
  try {
    await Promise.all(
      Array.from({ length: o.concurrency }, (_, worker) =>
        runWorker(fs, o, phase, state, worker, block, running, (op) => timed(worker, op)),
      ),
    );
  } finally {
    clearInterval(ticker);
  }
  const seconds = (performance.now() - started) / 1000;
  const all = new LatencyHistogram();
  for (const h of histograms) all.merge(h);
  return {
    phase,
    concurrency: o.concurrency,
    blockSize: bytesPerOp,
    seconds,
    ops: all.count,
    opsPerSecond: all.count / seconds,
    mibPerSecond: (all.count * bytesPerOp) / (1024 * 1024) / seconds,
    p50Ms: all.percentile(0.5),
    p95Ms: all.percentile(0.95),
    p99Ms: all.percentile(0.99),
    maxMs: all.max,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

async function runWorker(
  fs: BenchFileSystem,
  o: FileBenchOptions,
  phase: FilePhase,
  state: RunState,
  worker: number,
  block: Buffer,
  running: () => boolean,
  timed: (operation: () => Promise<unknown>) => Promise<boolean>,
): Promise<void> {
  switch (phase) {
    case "write": {
      const path = `${o.dir}/w${worker}`;
      const share = Math.max(o.blockSize, Math.floor(o.maxWriteBytes / o.concurrency));
      const file = await fs.create(path);
      let bytes = 0;
      try {
        while (running() && bytes + block.length <= share) {
          if (await timed(() => file.write(block))) bytes += block.length;
        }
      } finally {
        await file.close();
      }
      state.written[worker] = { path, bytes };
      return;
    }
    case "read": {
      const mine = state.written[worker];
      if (!mine || mine.bytes === 0) return;
      const file = await fs.open(mine.path);
      try {
        for (let position = 0; running(); ) {
          const length = Math.min(o.blockSize, mine.bytes - position);
          await timed(async () => {
            const bytes = await file.read(length, position);
            if (bytes.length !== length)
              throw new Error(
                `${mine.path}: read ${bytes.length} of ${length} bytes at ${position}`,
              );
          });
          if (position + length < mine.bytes) position += length;
          else if (o.readOnce) return;
          else position = 0;
        }
      } finally {
        await file.close();
      }
      return;
    }
    case "stat": {
      const paths = [...state.written.filter(Boolean).map((w) => w.path), ...state.created];
      if (paths.length === 0) paths.push(o.dir);
      for (let i = worker; running(); i += o.concurrency) {
        await timed(() => fs.stat(paths[i % paths.length]!));
      }
      return;
    }
    case "create": {
      for (let i = 0; running(); i++) {
        const path = `${o.dir}/files/c${worker}-${i}`;
        if (await timed(async () => (await fs.create(path)).close())) recordCreated(state, path);
      }
      return;
    }
    case "smallfile": {
      for (let i = 0; running(); i++) {
        const path = `${o.dir}/small/s${worker}-${i}`;
        await timed(async () => {
          const file = await fs.create(path);
          try {
            await file.write(block);
          } finally {
            await file.close();
          }
        });
      }
      return;
    }
    case "listdir": {
      const dir = state.createdCount > 0 || (o.listEntries ?? 0) > 0 ? `${o.dir}/files` : o.dir;
      while (running()) await timed(() => fs.list(dir));
      return;
    }
  }
}

/** Creates empty files in the listed directory until it holds `listEntries`; not timed. */
async function fillDirectory(
  fs: BenchFileSystem,
  o: FileBenchOptions,
  state: RunState,
): Promise<void> {
  const missing = (o.listEntries ?? 0) - state.createdCount;
  if (missing <= 0) return;
  let next = 0;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      for (let i = next++; i < missing; i = next++) {
        const path = `${o.dir}/files/fill-${i}`;
        await (await fs.create(path)).close();
        recordCreated(state, path);
      }
    }),
  );
}
