/**
 * Mount beside mount: the same programs on Sandstore's FUSE mount and on MooseFS's, each
 * timed from outside as a whole process, so that everything a user waits for counts (the
 * kernel's FUSE client, the mount process, the cluster).
 *
 * - fio, one job at a time: sequential 1 MiB writes (fsynced at the end) and reads (after the
 *   page cache is dropped, so the read reaches the mount), random 4 KiB reads and writes for a
 *   fixed time, and a create-heavy job making many 4 KiB files, each fsynced at close;
 * - `git clone` of a local repository (`--no-local`: git copies objects through its pack
 *   protocol, not by hard links, as a real clone does);
 * - `tar x` of a source tree.
 *
 * Every figure is a rate, so that higher is better, as in the rest of the table.
 */
import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const MAX_OUTPUT = 16 * 1024 * 1024;

/** What the mount workloads measured on one mount. */
export interface MountFigures {
  /** fio 1 MiB sequential writes, MiB/s. */
  readonly sequentialWrite: number;
  /** fio 1 MiB sequential reads, MiB/s. */
  readonly sequentialRead: number;
  /** fio 4 KiB random reads and writes, half each: operations per second. */
  readonly randomIops: number;
  /** fio's create-heavy job: files made, written and fsynced per second. */
  readonly creates: number;
  /** `git clone` of the local repository: checked-out files per second. */
  readonly gitClone: number;
  /** `tar x` of the source tree: entries per second. */
  readonly tarExtract: number;
}

export interface MountWorkloadOptions {
  /** Size of the sequential file, MiB. */
  readonly sequentialMiB: number;
  /** Size of the random job's file, MiB. */
  readonly randomMiB: number;
  /** How long the random job runs, seconds. */
  readonly randomSeconds: number;
  /** Files the create-heavy job makes. */
  readonly createFiles: number;
  /** The repository to clone, and how many files its checkout has. */
  readonly repository: { readonly path: string; readonly files: number };
  /** The tarball to extract, and how many entries it holds. */
  readonly tarball: { readonly path: string; readonly entries: number };
}

/** Runs every workload in a fresh directory under `mountPoint`, and removes it after. */
export async function measureMount(
  mountPoint: string,
  o: MountWorkloadOptions,
): Promise<MountFigures> {
  const dir = join(mountPoint, "cmp-mount");
  await mkdir(dir, { recursive: true });
  try {
    const file = `--filename=${join(dir, "fio.dat")}`;
    const sequentialWrite = await fio(
      [file, "--name=seqwrite", "--rw=write", "--bs=1M", `--size=${o.sequentialMiB}M`],
      ["--end_fsync=1"],
    );
    await dropPageCache();
    const sequentialRead = await fio([
      file,
      "--name=seqread",
      "--rw=read",
      "--bs=1M",
      `--size=${o.sequentialMiB}M`,
    ]);
    await rm(join(dir, "fio.dat"), { force: true });
    const random = await fio([
      `--filename=${join(dir, "fio-random.dat")}`,
      "--name=random",
      "--rw=randrw",
      "--bs=4k",
      `--size=${o.randomMiB}M`,
      "--time_based",
      `--runtime=${o.randomSeconds}`,
    ]);
    await rm(join(dir, "fio-random.dat"), { force: true });
    const createDir = join(dir, "creates");
    await mkdir(createDir);
    const createSeconds = await timed("fio", [
      "--name=creates",
      `--directory=${createDir}`,
      `--nrfiles=${o.createFiles}`,
      "--filesize=4k",
      "--bs=4k",
      "--rw=write",
      "--openfiles=1",
      "--file_service_type=sequential",
      "--create_on_open=1",
      "--fsync_on_close=1",
      "--ioengine=psync",
      "--output-format=terse",
    ]);
    const gitSeconds = await timed("git", [
      "clone",
      "--quiet",
      "--no-local",
      o.repository.path,
      join(dir, "clone"),
    ]);
    const tarDir = join(dir, "tar");
    await mkdir(tarDir);
    const tarSeconds = await timed("tar", ["-xf", o.tarball.path, "-C", tarDir]);
    return {
      sequentialWrite: sequentialWrite.writeMiBPerSecond,
      sequentialRead: sequentialRead.readMiBPerSecond,
      randomIops: random.iops,
      creates: o.createFiles / createSeconds,
      gitClone: o.repository.files / gitSeconds,
      tarExtract: o.tarball.entries / tarSeconds,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A repository and a tarball for the workloads, made in `scratch` (on local disk) from
 * `sourceDirs` (paths under the working directory): one commit of those files, and a tar of
 * them.
 */
export async function prepareSources(
  scratch: string,
  sourceDirs: readonly string[],
): Promise<Pick<MountWorkloadOptions, "repository" | "tarball">> {
  const tarball = join(scratch, "tree.tar");
  await run("tar", ["-cf", tarball, ...sourceDirs]);
  const { stdout } = await run("tar", ["-tf", tarball], { maxBuffer: MAX_OUTPUT });
  const entries = stdout.split("\n").filter(Boolean).length;
  const repository = join(scratch, "repository");
  await mkdir(repository);
  await run("tar", ["-xf", tarball, "-C", repository]);
  const git = (...args: string[]) =>
    run("git", ["-c", "user.email=bench@example.com", "-c", "user.name=bench", ...args], {
      cwd: repository,
      maxBuffer: MAX_OUTPUT,
    });
  await git("init", "--quiet");
  await git("add", ".");
  await git("commit", "--quiet", "-m", "the tree");
  const files = (await git("ls-files")).stdout.split("\n").filter(Boolean).length;
  return { repository: { path: repository, files }, tarball: { path: tarball, entries } };
}

interface FioRates {
  readonly writeMiBPerSecond: number;
  readonly readMiBPerSecond: number;
  readonly iops: number;
}

/** One fio job with psync I/O; its rates from the JSON output. */
async function fio(args: readonly string[], extra: readonly string[] = []): Promise<FioRates> {
  const { stdout } = await run(
    "fio",
    [...args, ...extra, "--ioengine=psync", "--output-format=json"],
    {
      maxBuffer: MAX_OUTPUT,
    },
  );
  const job = (JSON.parse(stdout) as { jobs?: FioJob[] }).jobs?.[0];
  if (!job?.read || !job.write)
    throw new Error(`fio printed no job figures: ${stdout.slice(0, 200)}`);
  const mib = 1024 * 1024;
  return {
    writeMiBPerSecond: job.write.bw_bytes / mib,
    readMiBPerSecond: job.read.bw_bytes / mib,
    iops: job.read.iops + job.write.iops,
  };
}

interface FioJob {
  readonly read?: { readonly bw_bytes: number; readonly iops: number };
  readonly write?: { readonly bw_bytes: number; readonly iops: number };
}

/** Seconds `command` took, as a whole process. Throws with what it printed if it failed. */
async function timed(command: string, args: readonly string[]): Promise<number> {
  const started = performance.now();
  await run(command, args, { maxBuffer: MAX_OUTPUT });
  return (performance.now() - started) / 1000;
}

/**
 * Drops the kernel's clean page cache, so that a read after a write reaches the mount. Needs
 * root, as MooseFS's network namespaces do.
 */
async function dropPageCache(): Promise<void> {
  await run("sync");
  await writeFile("/proc/sys/vm/drop_caches", "3\n");
}
