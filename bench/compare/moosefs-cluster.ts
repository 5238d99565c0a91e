/**
 * MooseFS for the comparison (Debian's moosefs-master, moosefs-chunkserver, moosefs-client):
 * a master and three chunkservers, each in its own network namespace (a chunkserver refuses
 * to register from 127.0.0.1), goal 3, mounted with mfsmount on this machine's namespace.
 * Durability as Sandstore's: chunkservers fsync a chunk before closing it
 * (HDD_FSYNC_BEFORE_CLOSE), so a file fsynced through the mount is as durable as one
 * Sandstore acknowledged, and the master fsyncs its changelog after each write
 * (CHANGELOG_SAVE_MODE = 2), so a create that returned survives a crash, as a Sandstore
 * create committed by Raft does. MooseFS's default (mode 0) writes the changelog in the
 * background, unsynced. Root only.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { access, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { connect as connectTcp } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  kernelPartitionsAvailable,
  NetworkNamespaces,
} from "../../src/chaos/network-namespaces.ts";
import { commandInstalled } from "../../src/common/command-installed.ts";
import { waitFor } from "../../src/common/wait-for.ts";

const run = promisify(execFile);
const MASTER = 0;
const CHUNKSERVERS = [1, 2, 3];
/** The master's port for clients (mfsmount). */
const MASTER_CLIENT_PORT = 9421;
/** How long a process may take to stop after SIGTERM (the master writes its metadata). */
const STOP_TIMEOUT_MS = 30_000;

/**
 * Whether MooseFS can run here: its programs installed, /dev/fuse for the mount, and root
 * with working network namespaces for the daemons.
 */
export async function mooseFsAvailable(): Promise<boolean> {
  if (!(await kernelPartitionsAvailable())) return false;
  if (
    !(await access("/dev/fuse").then(
      () => true,
      () => false,
    ))
  )
    return false;
  for (const program of ["mfsmaster", "mfschunkserver", "mfsmount", "mfssetgoal", "mfscheckfile"])
    if (!(await commandInstalled(program))) return false;
  return true;
}

export class MooseFsCluster {
  private readonly namespaces = new NetworkNamespaces(["master", "cs1", "cs2", "cs3"]);
  private readonly children: ChildProcess[] = [];
  private mount: ChildProcess | undefined;

  /**
   * `root` holds every process's data and the mount point; the caller removes it. The daemons
   * run as the mfs user, so `root`'s parents must let others in (mkdtemp's 0700 does not).
   */
  constructor(private readonly root: string) {}

  /** Where the file system is mounted once `start` resolves. */
  get mountPoint(): string {
    return join(this.root, "mnt");
  }

  async start(): Promise<void> {
    await this.namespaces.create();
    const master = this.namespaces.address(MASTER);
    const dir = (name: string) => join(this.root, name);
    await mkdir(dir("master"), { recursive: true });
    await writeFile(
      join(dir("master"), "metadata.mfs"),
      await readFile("/var/lib/mfs/metadata.mfs.empty"),
    );
    await writeFile(join(dir("master"), "mfsexports.cfg"), "*  /  rw,alldirs,admin,maproot=0:0\n");
    await writeFile(
      join(dir("master"), "mfsmaster.cfg"),
      [
        `DATA_PATH = ${dir("master")}`,
        `EXPORTS_FILENAME = ${join(dir("master"), "mfsexports.cfg")}`,
        ...["MATOCS", "MATOCL", "MATOML"].map((p) => `${p}_LISTEN_HOST = ${master}`),
        "CHANGELOG_SAVE_MODE = 2",
        "",
      ].join("\n"),
    );
    for (const i of CHUNKSERVERS) {
      const cs = dir(`cs${i}`);
      await mkdir(join(cs, "data"), { recursive: true });
      await mkdir(join(cs, "hdd"), { recursive: true });
      await writeFile(join(cs, "mfshdd.cfg"), `${join(cs, "hdd")}\n`);
      await writeFile(
        join(cs, "mfschunkserver.cfg"),
        [
          `DATA_PATH = ${join(cs, "data")}`,
          `HDD_CONF_FILENAME = ${join(cs, "mfshdd.cfg")}`,
          `MASTER_HOST = ${master}`,
          `BIND_HOST = ${this.namespaces.address(i)}`,
          `CSSERV_LISTEN_HOST = ${this.namespaces.address(i)}`,
          "HDD_FSYNC_BEFORE_CLOSE = 1",
          "HDD_LEAVE_SPACE_DEFAULT = 64MiB",
          "",
        ].join("\n"),
      );
    }
    // The daemons drop to the mfs user the package made.
    await run("chown", ["-R", "mfs:mfs", this.root]);
    this.spawnIn(MASTER, "master", [
      "mfsmaster",
      "-c",
      join(dir("master"), "mfsmaster.cfg"),
      "-f",
      "start",
    ]);
    for (const i of CHUNKSERVERS)
      this.spawnIn(i, `cs${i}`, [
        "mfschunkserver",
        "-c",
        join(dir(`cs${i}`), "mfschunkserver.cfg"),
        "-f",
        "start",
      ]);
    await mkdir(this.mountPoint, { recursive: true });
    await waitFor(
      () => accepts(master, MASTER_CLIENT_PORT),
      "the MooseFS master to listen",
      30_000,
    ).catch(async (error: Error) => {
      const output = await readFile(join(this.root, "master.log"), "utf8").catch(() => "");
      throw new Error(`${error.message}; its output: ${output.slice(-2000)}`);
    });
    this.mount = spawn("mfsmount", [this.mountPoint, "-H", master, "-f"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let mountErrors = "";
    this.mount.stderr!.on("data", (piece) => {
      mountErrors = (mountErrors + String(piece)).slice(-4096);
    });
    await waitFor(
      async () => {
        if (this.mount?.exitCode !== null) throw new Error(`mfsmount exited: ${mountErrors}`);
        return this.mounted();
      },
      "mfsmount to mount",
      30_000,
    );
    await run("mfssetgoal", ["-r", "3", this.mountPoint]);
    // Three copies of a probe file: every chunkserver has registered.
    const probe = join(this.mountPoint, ".probe");
    await writeFile(probe, Buffer.alloc(4096, 1));
    await waitFor(
      async () => /chunks with 3 copies:\s+1/.test((await run("mfscheckfile", [probe])).stdout),
      "three chunkservers to hold a copy of a probe file",
      60_000,
    );
    await rm(probe);
  }

  /** Runs `command` in namespace `i`, its output to `<root>/<name>.log` for a post-mortem. */
  private spawnIn(i: number, name: string, command: string[]): void {
    const [program, ...args] = this.namespaces.wrap(i, command);
    const output = openSync(join(this.root, `${name}.log`), "a");
    this.children.push(spawn(program!, args, { stdio: ["ignore", output, output] }));
  }

  private async mounted(): Promise<boolean> {
    return (await readFile("/proc/mounts", "utf8")).includes(` ${this.mountPoint} `);
  }

  /** Unmounts, stops every daemon and removes the namespaces. */
  async stop(): Promise<void> {
    if (await this.mounted()) await run("umount", [this.mountPoint]);
    if (this.mount) await exited(this.mount);
    await Promise.all(this.children.map(exited));
    await this.namespaces.destroy();
  }
}

/** SIGTERM, then SIGKILL after the stop timeout; resolves when the process has exited. */
async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((done) => child.once("exit", () => done()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await gone;
  clearTimeout(timer);
}

/** Whether a TCP connection to `host:port` is accepted now. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connectTcp({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}
