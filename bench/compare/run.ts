/**
 * `npm run bench:compare`: Sandstore beside MooseFS, etcd and the disk itself, in one run on
 * this machine, with one table of figures and ratios. Writes docs/benchmarks.md,
 * docs/benchmarks.svg and docs/benchmarks.json (or, with --out, that directory's).
 *
 *   npm run bench:compare -- [--size-mib 1024] [--seconds 10] [--list-entries 10000]
 *                            [--out DIR] [--skip moosefs,etcd,fio] [--smoke]
 *
 * --smoke runs every system with tiny sizes (a check that each produces a figure, for tests).
 * MooseFS needs root and Debian's moosefs-master, moosefs-chunkserver and moosefs-client;
 * etcd needs etcd-server; the limits need fio. A system that cannot run is named and skipped.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import {
  type BenchFileSystem,
  mountedFileSystem,
  sdkFileSystem,
} from "../../src/bench/bench-file-system.ts";
import {
  type FileBenchOptions,
  type PhaseResult,
  runFileBench,
} from "../../src/bench/file-bench.ts";
import {
  etcdDrivers,
  type KvDriver,
  runKvLoad,
  sandstoreDrivers,
} from "../../src/bench/kv-load.ts";
import { commandInstalled } from "../../src/common/command-installed.ts";
import { NODE_RUNTIME_FLAGS } from "../../src/common/runtime-flags.ts";
import { connect } from "../../src/index.ts";
import { Cluster } from "../../test/helpers/hyperconverged-cluster.ts";
import { KvProcessCluster } from "../../test/helpers/kv-cluster.ts";
import { startMount } from "../../test/helpers/mount-process.ts";
import { removeDataDir, startNode } from "../../test/helpers/node-process.ts";
import {
  type CompareRow,
  formatGoalsTable,
  formatMarkdownTable,
  formatTerminalTable,
  renderChart,
  type SystemName,
} from "./compare-table.ts";
import { startEtcd } from "./etcd-cluster.ts";
import { type FioLimits, measureLimits } from "./fio.ts";
import { MooseFsCluster, mooseFsAvailable } from "./moosefs-cluster.ts";
import {
  type MountFigures,
  type MountWorkloadOptions,
  measureMount,
  prepareSources,
} from "./mount-workloads.ts";

const { values } = parseArgs({
  options: {
    "size-mib": { type: "string" },
    seconds: { type: "string" },
    "list-entries": { type: "string" },
    out: { type: "string", default: "docs" },
    skip: { type: "string", default: "" },
    smoke: { type: "boolean", default: false },
  },
});
const smoke = values.smoke;
const number = (name: string, text: string | undefined, fallback: number) => {
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`--${name} must be a positive number, got "${text}"`);
  return value;
};
const sizeMiB = number("size-mib", values["size-mib"], smoke ? 8 : 1024);
const seconds = number("seconds", values.seconds, smoke ? 1 : 10);
const listEntries = number("list-entries", values["list-entries"], smoke ? 100 : 10_000);
const skip = new Set(values.skip.split(",").filter(Boolean));
const log = (line: string) => console.error(`[bench:compare] ${line}`);

/** Every figure a file system gives, by workload. */
interface FileFigures {
  write: number;
  read: number;
  smallFiles: number;
  creates: number;
  stats: number;
  listings: number;
  creates64?: number;
}

async function phases(
  fs: BenchFileSystem,
  o: Omit<FileBenchOptions, "maxWriteBytes" | "blockSize"> & Partial<FileBenchOptions>,
): Promise<PhaseResult[]> {
  const results = await runFileBench(fs, {
    blockSize: 4 * 1024 * 1024,
    maxWriteBytes: sizeMiB * 1024 * 1024,
    ...o,
  });
  await fs.remove(o.dir);
  for (const r of results)
    if (r.errors > 0)
      throw new Error(`${r.phase} in ${o.dir}: ${r.errors} errors, the first: ${r.firstError}`);
  return results;
}

/** The file workloads, the same code for every system; `with64` adds creates at 64 callers. */
async function fileFigures(fs: BenchFileSystem, with64: boolean): Promise<FileFigures> {
  // Long enough for the whole size at any plausible rate: the size, not the clock, ends it.
  const [write, read] = await phases(fs, {
    phases: ["write", "read"],
    concurrency: 1,
    durationS: 3600,
    readOnce: true,
    dir: "/cmp-seq",
  });
  const [small] = await phases(fs, {
    phases: ["smallfile"],
    concurrency: 16,
    durationS: seconds,
    dir: "/cmp-small",
  });
  const [creates, stats] = await phases(fs, {
    phases: ["create", "stat"],
    concurrency: 16,
    durationS: seconds,
    dir: "/cmp-create",
  });
  const [listings] = await phases(fs, {
    phases: ["listdir"],
    concurrency: 1,
    durationS: seconds,
    listEntries,
    dir: "/cmp-list",
  });
  const creates64 = with64
    ? (
        await phases(fs, {
          phases: ["create"],
          concurrency: 64,
          durationS: seconds,
          dir: "/cmp-create64",
        })
      )[0]!.opsPerSecond
    : undefined;
  return {
    write: write!.mibPerSecond,
    read: read!.mibPerSecond,
    smallFiles: small!.opsPerSecond,
    creates: creates!.opsPerSecond,
    stats: stats!.opsPerSecond,
    listings: listings!.opsPerSecond,
    ...(creates64 === undefined ? {} : { creates64 }),
  };
}

async function kvFigures(
  make: (clients: number) => Promise<KvDriver[]>,
): Promise<{ put: number; get: number }> {
  const drivers = await make(64);
  try {
    const [put, get] = await runKvLoad(drivers, seconds, 256);
    return { put: put!.opsPerSecond, get: get!.opsPerSecond };
  } finally {
    await Promise.all(drivers.map((d) => d.close()));
  }
}

const base = await mkdtemp(join(tmpdir(), "sandstore-compare-"));
// MooseFS's daemons run as the mfs user and must reach their directories under it.
await chmod(base, 0o755);
const figures: Partial<Record<SystemName, FileFigures>> = {};
const mounts: Partial<Record<"sandstore" | "moosefs", MountFigures>> = {};
// Mount beside mount: smaller than the SDK's runs, because each is one process through FUSE.
const mountOptions: MountWorkloadOptions = {
  sequentialMiB: Math.max(2, Math.floor(sizeMiB / 4)),
  randomMiB: smoke ? 1 : 64,
  randomSeconds: seconds,
  createFiles: smoke ? 20 : 1000,
  ...(await prepareSources(base, smoke ? ["src/raft"] : ["src", "test", "docs", "web"])),
};
const kv: Partial<Record<"sandstore" | "etcd", { put: number; get: number }>> = {};
let limits: FioLimits | undefined;
const skipped: string[] = [];
const available = async (name: string, check: () => Promise<boolean>, why: string) => {
  if (skip.has(name)) {
    skipped.push(`${name}: skipped with --skip`);
    return false;
  }
  if (await check()) return true;
  skipped.push(`${name}: ${why}`);
  log(`skipping ${name}: ${why}`);
  return false;
};
try {
  if (
    await available(
      "fio",
      () => commandInstalled("fio"),
      "fio is not installed (apt-get install fio)",
    )
  ) {
    log(`fio: limits of ${base}`);
    limits = await measureLimits(base, sizeMiB);
  }

  log("Sandstore single node");
  const single = await startNode({ dataDir: join(base, "single") });
  try {
    const client = connect(single.address);
    figures.single = await fileFigures(sdkFileSystem(client), false);
    await client.closeClient();
  } finally {
    await single.stop();
    await removeDataDir(single);
  }

  log("Sandstore 3 nodes, R=3");
  const cluster = new Cluster();
  await cluster.start();
  try {
    await cluster.leader();
    const client = connect(cluster.addresses);
    figures.sandstore = await fileFigures(sdkFileSystem(client), true);
    await client.closeClient();
    log("Sandstore 3 nodes, R=3, through sandstore mount");
    const mount = await startMount(cluster.addresses.join(","));
    try {
      mounts.sandstore = await measureMount(mount.dir, mountOptions);
    } finally {
      await mount.unmount();
    }
  } finally {
    await cluster.close();
  }

  // Like for like with MooseFS: one metadata server (its master) and 3 data servers.
  log("Sandstore disaggregated: 1 metadata server, 3 data servers, R=3");
  const disaggregated = new Cluster({ size: 4, metadataServers: 1 });
  await disaggregated.start();
  try {
    await disaggregated.leader();
    const client = connect(disaggregated.addresses);
    figures.disaggregated = await fileFigures(sdkFileSystem(client), false);
    await client.closeClient();
  } finally {
    await disaggregated.close();
  }

  if (
    await available(
      "moosefs",
      mooseFsAvailable,
      "needs root and moosefs-master, moosefs-chunkserver, moosefs-client",
    )
  ) {
    log("MooseFS: a master and 3 chunkservers in network namespaces, goal 3");
    const moose = new MooseFsCluster(join(base, "moosefs"));
    try {
      await moose.start();
      figures.moosefs = await fileFigures(mountedFileSystem(moose.mountPoint), false);
      log("MooseFS, the same programs on its mount as on Sandstore's");
      mounts.moosefs = await measureMount(moose.mountPoint, mountOptions);
    } finally {
      await moose.stop();
    }
  }

  log("Sandstore key-value, 3 nodes");
  const kvCluster = new KvProcessCluster(3);
  await kvCluster.start();
  try {
    await kvCluster.leader();
    const seeds = [0, 1, 2].map((i) => kvCluster.clientAddress(i));
    kv.sandstore = await kvFigures((c) => sandstoreDrivers(seeds, c));
  } finally {
    await kvCluster.close();
  }

  if (
    await available(
      "etcd",
      () => commandInstalled("etcd"),
      "etcd is not installed (apt-get install etcd-server)",
    )
  ) {
    log("etcd, 3 members");
    const etcd = await startEtcd();
    try {
      kv.etcd = await kvFigures((c) => etcdDrivers(etcd.endpoints, c));
    } finally {
      await etcd.stop();
    }
  }
} finally {
  await rm(base, { recursive: true, force: true });
}

const file = (pick: (f: FileFigures) => number | undefined) => {
  const row: Partial<Record<SystemName, number>> = {};
  for (const system of ["sandstore", "single", "disaggregated", "moosefs"] as const) {
    const value = figures[system] ? pick(figures[system]!) : undefined;
    if (value !== undefined) row[system] = value;
  }
  return row;
};
/**
 * What limits a workload, in a sentence from its last profile, and where performance.md says
 * more. Only shown for a goal the run did not meet.
 */
const whatLimits = (anchor: string, sentence: string) =>
  `${sentence} ([profile](performance.md#${anchor}))`;
const metadataLimit = whatLimits(
  "metadata-operations",
  "CPU per create across the four processes on two cores, about 0.75 ms where etcd spends about 0.65 ms per put; two thirds of the client's share is grpc-js",
);
/** A row's limit, when fio ran. */
const limit = (value: (l: FioLimits) => number, note: string) =>
  limits ? { limit: { value: value(limits), note } } : {};
const size = sizeMiB >= 1024 ? `${sizeMiB / 1024} GiB` : `${sizeMiB} MiB`;
const rows: CompareRow[] = [
  {
    workload: `${size} sequential write, durable at the end`,
    unit: "MiB/s",
    figures: file((f) => f.write),
    peer: "moosefs",
    ...limit((l) => l.sequentialWrite.mibPerSecond / 3, "fio 1 MiB direct writes / 3"),
    goal: {
      peerAtLeast: 1,
      limitAtLeast: 0.5,
      whatLimits: whatLimits(
        "sequential-write-at-r3",
        "The two cores: writing 512 MiB, the nodes and the client used 10.9 of the 11.8 CPU-seconds there were, half in the kernel, for three loopback copies and three disk writes of every byte. MooseFS itself reaches about 0.2x of this limit",
      ),
    },
  },
  {
    workload: `${size} sequential read`,
    unit: "MiB/s",
    figures: file((f) => f.read),
    peer: "moosefs",
    ...limit((l) => l.sequentialRead.mibPerSecond, "fio 1 MiB direct reads"),
    goal: {
      peerAtLeast: 1,
      whatLimits: whatLimits(
        "sequential-read",
        "The client's CPU: HTTP/2 frames and the copies that join them into messages",
      ),
    },
  },
  {
    workload: "4 KiB files created and written, 16 clients",
    unit: "files/s",
    figures: file((f) => f.smallFiles),
    peer: "moosefs",
    ...limit((l) => l.syncedAppend.iops, "fio 4 KiB writes + fdatasync"),
    goal: {
      peerAtLeast: 1,
      whatLimits: whatLimits(
        "small-files",
        "Two Raft entries per file, each costing what a create costs",
      ),
    },
  },
  {
    workload: "empty-file creates, 16 clients",
    unit: "files/s",
    figures: file((f) => f.creates),
    peer: "moosefs",
    goal: { peerAtLeast: 1, whatLimits: metadataLimit },
  },
  { workload: "stat, 16 clients", unit: "ops/s", figures: file((f) => f.stats), peer: "moosefs" },
  {
    workload: `listdir of ${listEntries.toLocaleString("en")} entries`,
    unit: "listings/s",
    figures: file((f) => f.listings),
    peer: "moosefs",
  },
  {
    workload: "metadata creates (Sandstore) vs puts (etcd), 64 clients",
    unit: "ops/s",
    figures: {
      ...(figures.sandstore?.creates64 === undefined
        ? {}
        : { sandstore: figures.sandstore.creates64 }),
      ...(kv.etcd ? { etcd: kv.etcd.put } : {}),
    },
    peer: "etcd",
    goal: { peerAtLeast: 1, whatLimits: metadataLimit },
  },
  {
    workload: "KV put, 256 B values, 64 clients",
    unit: "ops/s",
    figures: {
      ...(kv.sandstore ? { sandstore: kv.sandstore.put } : {}),
      ...(kv.etcd ? { etcd: kv.etcd.put } : {}),
    },
    peer: "etcd",
  },
  {
    workload: "KV linearizable get, 64 clients",
    unit: "ops/s",
    figures: {
      ...(kv.sandstore ? { sandstore: kv.sandstore.get } : {}),
      ...(kv.etcd ? { etcd: kv.etcd.get } : {}),
    },
    peer: "etcd",
  },
];

const mounted = (pick: (f: MountFigures) => number) => {
  const row: Partial<Record<SystemName, number>> = {};
  for (const system of ["sandstore", "moosefs"] as const) {
    const figure = mounts[system];
    if (figure) row[system] = pick(figure);
  }
  return row;
};
const mountSize =
  mountOptions.sequentialMiB >= 1024
    ? `${mountOptions.sequentialMiB / 1024} GiB`
    : `${mountOptions.sequentialMiB} MiB`;
const mountRows: CompareRow[] = [
  {
    workload: `mount: fio ${mountSize} sequential 1 MiB writes, fsynced`,
    unit: "MiB/s",
    figures: mounted((f) => f.sequentialWrite),
  },
  {
    workload: `mount: fio ${mountSize} sequential 1 MiB reads, page cache dropped`,
    unit: "MiB/s",
    figures: mounted((f) => f.sequentialRead),
  },
  {
    workload: `mount: fio random 4 KiB reads and writes, ${mountOptions.randomMiB} MiB file`,
    unit: "IOPS",
    figures: mounted((f) => f.randomIops),
  },
  {
    workload: `mount: fio create-heavy, ${mountOptions.createFiles} files of 4 KiB, fsync at close`,
    unit: "files/s",
    figures: mounted((f) => f.creates),
  },
  {
    workload: `mount: git clone of a local repository (${mountOptions.repository.files} files)`,
    unit: "files/s",
    figures: mounted((f) => f.gitClone),
  },
  {
    workload: `mount: tar x of a source tree (${mountOptions.tarball.entries} entries)`,
    unit: "entries/s",
    figures: mounted((f) => f.tarExtract),
  },
].map((row) => ({ ...row, peer: "moosefs" }));

console.log(formatTerminalTable(rows));
console.log(formatTerminalTable(mountRows));
const cpu = cpus()[0]?.model ?? "unknown CPU";
const versions = async (command: string, args: string[]) =>
  promisify(execFile)(command, args).then(
    (r) => (r.stdout || r.stderr).split("\n")[0]!.trim(),
    () => "not installed",
  );
const machine = [
  `- CPU: ${cpus().length} × ${cpu}; memory ${(totalmem() / 1024 ** 3).toFixed(0)} GiB; Linux ${release()}; Node.js ${process.version}`,
  `- disk: ${
    (await readFile("/proc/mounts", "utf8"))
      .split("\n")
      .find((l) => l.split(" ")[1] === "/")
      ?.split(" ")
      .slice(0, 3)
      .join(" ") ?? "unknown"
  } (the root file system; every system's data is under ${tmpdir()})`,
  `- fio: ${await versions("fio", ["--version"])}; etcd: ${await versions("etcd", ["--version"])}; MooseFS: ${await versions("mfsmaster", ["-v"])}`,
].join("\n");
const when = new Date().toISOString();
const chartName = "benchmarks.svg";
const markdown = `# Benchmarks: Sandstore beside MooseFS, etcd and the disk

Measured ${when} by \`npm run bench:compare${smoke ? " -- --smoke" : ""}\`, all systems one after another on this machine:

${machine}

${formatMarkdownTable(rows)}

Higher is better everywhere. **Sandstore/peer** divides Sandstore's 3-node figure by MooseFS's
(files) or etcd's (keys and metadata); **Sandstore/limit** divides it by what fio measured on
the same disk. A sequential write at R=3 writes every byte three times on this one disk, so its
limit is fio's write bandwidth over 3.

![chart](${chartName})

## Goals

The benchmark issue's goals, as ratios within this run:

${formatGoalsTable(rows)}

Where Sandstore trails, [performance.md](performance.md) says what limits it and what has been
done about it, with the profiles.

## Mount beside mount

The same programs through Sandstore's FUSE mount (\`sandstore mount\` of the 3-node cluster,
default options) and through MooseFS's (\`mfsmount\`, its defaults), each timed as a whole
process: fio jobs one at a time with psync I/O, \`git clone --no-local\` of a repository on
local disk, \`tar x\` of a tarball on local disk. See [mount.md](mount.md) for what the mount
does with each request.

${formatMarkdownTable(mountRows)}

## Method

- **Same workload code.** Sandstore runs through the SDK, MooseFS through its FUSE mount with
  node:fs, both through \`src/bench/file-bench.ts\` (the code behind \`sandstore bench files\`).
  Keys run through \`src/bench/kv-load.ts\` (\`sandstore bench kv\`).
- **Durability alike.** A Sandstore write is acknowledged once W copies are fsynced and the
  metadata is committed. MooseFS files are fsynced through the mount before close, its
  chunkservers fsync chunks before closing them (\`HDD_FSYNC_BEFORE_CLOSE = 1\`), and its
  master fsyncs its changelog after every change (\`CHANGELOG_SAVE_MODE = 2\`; by default it
  writes the changelog in the background, unsynced, so a create that returned can be lost).
  etcd fsyncs its WAL on every commit.
- **Clusters.** Sandstore: 3 hyperconverged nodes at R=3, W=2; the single topology; and the
  disaggregated topology with one metadata server and 3 data servers at R=3, W=2, the client
  writing every copy itself. MooseFS: a master and 3 chunkservers, each in its own network namespace, goal 3. etcd: 3
  members. Everything runs on this one machine and shares its cores and disk, so ratios within
  a run mean more than absolute figures.
- **Small files.** A file whose chunk slot stays within 16 KiB is held in Sandstore's metadata
  (an inline slot): a 4 KiB file is a create and a write, two Raft entries fsynced on every
  node, and no chunk copies. MooseFS stores it as a chunk on 3 chunkservers.
- **Runtime.** Sandstore's nodes and the benchmark process itself run with
  \`${NODE_RUNTIME_FLAGS.join(" ")}\` (\`NODE_RUNTIME_FLAGS\`); the same process drives MooseFS's mount.
- **Caches.** MooseFS is measured through the kernel's FUSE client with mfsmount's defaults,
  which cache attributes for a second, so its \`stat\` figure is partly the kernel's cache;
  Sandstore's \`stat\` is a linearizable read every time. A Sandstore listing returns every
  entry's attributes (like NFS's READDIRPLUS); node:fs's \`readdir\` through the mount asks
  for names only.
- **Workloads.** ${size} written by one client in 4 MiB calls, closed (durable), then read
  once; 4 KiB files created, written and closed by 16 clients for ${seconds} s; empty files
  created by 16 clients for ${seconds} s, then stat of those files; full listings of a
  directory of ${listEntries.toLocaleString("en")} entries; creates by 64 clients for ${seconds} s; key-value puts and
  linearizable gets of 256-byte values from 64 connections for ${seconds} s each.
${skipped.length > 0 ? `\nNot measured in this run: ${skipped.join("; ")}.\n` : ""}`;

await mkdir(values.out, { recursive: true });
await writeFile(join(values.out, "benchmarks.md"), markdown);
await writeFile(
  join(values.out, chartName),
  renderChart(rows, `Sandstore beside its peers, ${when.slice(0, 10)}`),
);
// The figures behind the page, for scripts and for the smoke test that checks every system ran.
await writeFile(
  join(values.out, "benchmarks.json"),
  `${JSON.stringify({ when, smoke, sizeMiB, seconds, listEntries, limits, skipped, rows, mountRows }, null, 2)}\n`,
);
log(`wrote benchmarks.md, ${chartName} and benchmarks.json in ${values.out}`);
