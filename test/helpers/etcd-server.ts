/**
 * One real etcd (Debian's etcd-server) for tests, on 127.0.0.1 with ephemeral ports and a
 * temporary data directory: started, killed (SIGKILL), started again on the same ports and
 * data, and stopped with its directory removed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { commandInstalled } from "../../bench/compare/command-installed.ts";
import { freePorts } from "../../src/common/free-ports.ts";
import { waitFor } from "../../src/common/wait-for.ts";

export class EtcdServer {
  private child: ChildProcess | undefined;
  private root = "";
  private ports: number[] = [];

  /** `host:port` of its client port. */
  get endpoint(): string {
    return `127.0.0.1:${this.ports[0]}`;
  }

  /**
   * Starts it (again, on the same ports and data) and resolves once it takes a write. Throws
   * naming the package when `etcd` is not installed.
   */
  async start(): Promise<void> {
    if (!(await commandInstalled("etcd")))
      throw new Error("these tests need etcd: apt-get install -y etcd-server (.ci/run does)");
    if (this.root === "") {
      this.root = await mkdtemp(join(tmpdir(), "sandstore-etcd-"));
      this.ports = await freePorts(2);
    }
    const peer = `http://127.0.0.1:${this.ports[1]}`;
    const client = `http://${this.endpoint}`;
    const child = spawn(
      "etcd",
      [
        ...["--name", "e1", "--data-dir", join(this.root, "data")],
        ...["--listen-client-urls", client, "--advertise-client-urls", client],
        ...["--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer],
        ...["--initial-cluster", `e1=${peer}`, "--log-level", "error"],
      ],
      { stdio: "ignore" },
    );
    this.child = child;
    const probe = new Etcd3({ hosts: client, dialTimeout: 1000 });
    try {
      await waitFor(
        () =>
          probe
            .put("probe")
            .value("x")
            .then(
              () => true,
              () => false,
            ),
        "etcd to take a write",
        30_000,
      );
    } finally {
      probe.close();
    }
  }

  /** SIGKILL: no chance to answer anything more. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise((resolve) =>
      child.exitCode !== null ? resolve(null) : child.once("exit", resolve),
    );
    child.kill("SIGKILL");
    await exited;
  }

  /** Kills it and removes its data. */
  async stop(): Promise<void> {
    await this.kill();
    if (this.root !== "") await rm(this.root, { recursive: true, force: true });
  }
}
