/**
 * `sandstore bench`: load generators. `bench kv` drives a key-value cluster (or etcd, for a
 * comparison) with C connections: SETs, then linearizable GETs. `bench files` runs the file
 * phases (write, read, stat, create, listdir) against a cluster or a mounted file system.
 */
import { Presets, SingleBar } from "cli-progress";
import { type Command, InvalidArgumentError } from "commander";
import {
  type BenchFileSystem,
  mountedFileSystem,
  sdkFileSystem,
} from "../bench/bench-file-system.ts";
import { appendCsv, formatTable } from "../bench/bench-report.ts";
import {
  type BenchProgress,
  FILE_PHASES,
  type FilePhase,
  runFileBench,
  validateFileBenchOptions,
} from "../bench/file-bench.ts";
import {
  etcdDrivers,
  formatRow,
  runKvLoad,
  sandstoreDrivers,
  TABLE_HEADER,
} from "../bench/kv-load.ts";
import { connect } from "../client/connect.ts";
import { positiveInteger, UsageError, withCluster } from "./cli-support.ts";

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A byte count: digits with an optional K, M or G (powers of 1024), e.g. 4k, 1M, 1073741824. */
export function byteSize(value: string): number {
  const match = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(value.trim());
  const n = match ? Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]! : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new InvalidArgumentError("expected a size in bytes, like 4096, 4k, 1M or 1G");
  return n;
}

/** A comma-separated list of phases, each checked. */
export function phaseList(value: string): FilePhase[] {
  const phases = value
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  for (const phase of phases)
    if (!(FILE_PHASES as readonly string[]).includes(phase))
      throw new InvalidArgumentError(
        `unknown phase "${phase}": choose from ${FILE_PHASES.join(",")}`,
      );
  return phases as FilePhase[];
}

interface FilesFlags {
  cluster: string;
  mount?: string;
  phases: FilePhase[];
  concurrency: number;
  duration: number;
  blockSize: number;
  maxWrite: number;
  dir?: string;
  keep?: boolean;
  csv: string | false;
  label: string;
  json?: boolean;
}

/** A bar on a terminal, per phase; none when output is not a terminal or is JSON. */
function progressDisplay(
  durationS: number,
): { update: BenchProgress; stop: () => void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  let bar: SingleBar | undefined;
  let current: string | undefined;
  return {
    update: (phase, elapsedS, ops) => {
      if (phase !== current) {
        bar?.stop();
        current = phase;
        bar = new SingleBar(
          {
            format: `${phase.padEnd(7)} [{bar}] {value}/{total} s | {ops} ops`,
            stream: process.stderr,
          },
          Presets.shades_classic,
        );
        bar.start(durationS, 0, { ops: 0 });
      }
      bar!.update(Math.min(durationS, Math.floor(elapsedS)), { ops });
    },
    stop: () => bar?.stop(),
  };
}

export function registerBenchCommands(program: Command): void {
  const bench = program.command("bench").description("load generators");
  withCluster(bench.command("files"))
    .description("file phases (write, read, stat, create, listdir) against a cluster or a mount")
    .option("--mount <dir>", "drive the file system mounted at this directory instead")
    .option("--phases <list>", "phases to run, in order", phaseList, [...FILE_PHASES])
    .option("--concurrency <n>", "concurrent workers", positiveInteger, 16)
    .option("--duration <seconds>", "seconds per phase", positiveInteger, 10)
    .option("--block-size <size>", "bytes per write and read (4k, 1M...)", byteSize, 1024 * 1024)
    .option("--max-write <size>", "most bytes the write phase writes in all", byteSize, 1024 ** 3)
    .option("--dir <path>", "the run's directory, which must not exist (default /bench-<time>)")
    .option("--keep", "leave the run's files in place")
    .option("--csv <path>", "append results to this CSV", "results/bench/files.csv")
    .option("--no-csv", "write no CSV")
    .option("--label <text>", "a label for the CSV rows", "")
    .option("--json", "machine-readable output")
    .action(async (flags: FilesFlags) => {
      const time = new Date().toISOString();
      const options = {
        phases: flags.phases,
        concurrency: flags.concurrency,
        durationS: flags.duration,
        blockSize: flags.blockSize,
        maxWriteBytes: flags.maxWrite,
        dir: flags.dir ?? `/bench-${time.replace(/[:.]/g, "-")}`,
      };
      try {
        validateFileBenchOptions(options);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      const client = flags.mount ? undefined : connect(flags.cluster, { retryForMs: 10_000 });
      const fs: BenchFileSystem = client ? sdkFileSystem(client) : mountedFileSystem(flags.mount!);
      const target = flags.mount ? `mount ${flags.mount}` : `sandstore ${flags.cluster}`;
      const display = flags.json ? undefined : progressDisplay(flags.duration);
      try {
        const results = await runFileBench(fs, options, display?.update);
        display?.stop();
        if (flags.csv !== false)
          await appendCsv(flags.csv, { time, target, label: flags.label }, results);
        if (flags.json)
          console.log(JSON.stringify({ time, target, label: flags.label, options, results }));
        else console.log(formatTable(results));
        if (!flags.keep) await fs.remove(options.dir);
      } finally {
        display?.stop();
        await client?.closeClient();
      }
    });
  bench
    .command("kv")
    .description("SET then GET load on a key-value cluster (or etcd with --etcd)")
    .option(
      "--cluster <addresses>",
      "Sandstore client addresses, host:port,...",
      "127.0.0.1:6001,127.0.0.1:6002,127.0.0.1:6003",
    )
    .option("--etcd <endpoints>", "drive etcd at these client endpoints instead, host:port,...")
    .option("--clients <n>", "concurrent connections", positiveInteger, 16)
    .option("--value-size <bytes>", "bytes per value", positiveInteger, 256)
    .option("--duration <seconds>", "seconds per phase", positiveInteger, 10)
    .option("--json", "machine-readable output")
    .action(
      async (flags: {
        cluster: string;
        etcd?: string;
        clients: number;
        valueSize: number;
        duration: number;
        json?: boolean;
      }) => {
        const split = (text: string) =>
          text
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean);
        const drivers = flags.etcd
          ? await etcdDrivers(split(flags.etcd), flags.clients)
          : await sandstoreDrivers(split(flags.cluster), flags.clients);
        try {
          const results = await runKvLoad(drivers, flags.duration, flags.valueSize);
          if (flags.json) console.log(JSON.stringify(results));
          else {
            console.log(TABLE_HEADER);
            for (const r of results) console.log(formatRow(flags.etcd ? "etcd" : "sandstore", r));
          }
        } finally {
          await Promise.all(drivers.map((d) => d.close()));
        }
      },
    );
}
