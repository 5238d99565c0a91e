/**
 * One etcd process on this machine (Debian's etcd-server, `etcd` on the PATH), for
 * `sandstore up --membership etcd` and for tests: one member on 127.0.0.1, its data in a
 * directory of its own. It can be killed and started again on the same ports and data.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { Etcd3 } from "etcd3";
import { commandInstalled } from "../common/command-installed.ts";
import { waitFor } from "../common/wait-for.ts";

export interface LocalEtcdOptions {
  /** Where it keeps its data; created when missing. */
  readonly dataDir: string;
  /** Its client port on 127.0.0.1. */
  readonly clientPort: number;
  /** Its peer port on 127.0.0.1 (a one-member cluster still has one). */
  readonly peerPort: number;
  /** How long it may take to take its first write, ms. Default 30,000. */
  readonly startTimeoutMs?: number;
}

export class LocalEtcd {
  private child: ChildProcess | undefined;

  constructor(private readonly o: LocalEtcdOptions) {}

  /** `host:port` of its client port: what `etcd://` names. */
  get endpoint(): string {
    return `127.0.0.1:${this.o.clientPort}`;
  }

  /**
   * Starts it (again, on the same ports and data) and resolves once it takes a write. Throws
   * naming the package when `etcd` is not installed, and with etcd's own reason when it exits.
   */
  async start(): Promise<void> {
    if (!(await commandInstalled("etcd")))
      throw new Error("etcd is not installed: apt-get install -y etcd-server");
    await mkdir(this.o.dataDir, { recursive: true });
    const peer = `http://127.0.0.1:${this.o.peerPort}`;
    const client = `http://${this.endpoint}`;
    const child = spawn(
      "etcd",
      [
        ...["--name", "local", "--data-dir", this.o.dataDir],
        ...["--listen-client-urls", client, "--advertise-client-urls", client],
        ...["--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer],
        ...["--initial-cluster", `local=${peer}`, "--log-level", "error"],
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr?.on("data", (piece) => {
      // The last few KiB say why it would not start.
      stderr = (stderr + String(piece)).slice(-4096);
    });
    let exited: number | null | undefined;
    child.once("exit", (code) => {
      exited = code;
    });
    this.child = child;
    const probe = new Etcd3({ hosts: client, dialTimeout: 1000 });
    try {
      await waitFor(
        async () => {
          if (exited !== undefined) throw new Error(`etcd exited with ${exited}: ${stderr}`);
          return probe
            .put("/sandstore-probe")
            .value("")
            .then(
              () => true,
              () => false,
            );
        },
        `etcd at ${this.endpoint} to take a write`,
        this.o.startTimeoutMs ?? 30_000,
      );
    } finally {
      probe.close();
    }
  }

  /** True while its process runs (paused or not). */
  get running(): boolean {
    return this.child !== undefined;
  }

  /** SIGSTOP: it holds its connections and answers nothing, as a stalled machine would. */
  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  /** SIGCONT after `pause`. */
  resume(): void {
    this.child?.kill("SIGCONT");
  }

  /** SIGKILL now, without waiting: for a process that is exiting. */
  killNow(): void {
    this.child?.kill("SIGKILL");
  }

  /** SIGKILL: no chance to answer anything more. Resolves once it has exited. */
  kill(): Promise<void> {
    return this.signal("SIGKILL");
  }

  /** SIGTERM, for a clean stop; resolves once it has exited. */
  stop(): Promise<void> {
    return this.signal("SIGTERM");
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise((resolve) =>
      child.exitCode !== null || child.signalCode !== null
        ? resolve(null)
        : child.once("exit", resolve),
    );
    child.kill(signal);
    // A paused process takes no signal but SIGKILL until it runs again.
    child.kill("SIGCONT");
    await exited;
  }
}
