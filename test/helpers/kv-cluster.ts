/**
 * A key-value cluster of real `sandstore kv node` processes on 127.0.0.1, with a fault file per
 * node so tests can cut nodes off, and kill -9 / restart of any node.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freePorts } from "../../src/common/free-ports.ts";
import { KvConnection } from "../../src/kv/kv-client.ts";
import { spawnCli } from "./node-process.ts";

export { freePorts };

export class KvProcessCluster {
  readonly ids: string[];
  raftPorts: number[] = [];
  clientPorts: number[] = [];
  root = "";
  /** The cluster token every node is started with. */
  readonly token = randomBytes(16).toString("hex");
  private readonly children = new Map<number, ChildProcess>();

  constructor(
    readonly size: number,
    private readonly extraArgs: string[] = [],
  ) {
    this.ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  }

  async start(): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), "sandstore-kv-cluster-"));
    const ports = await freePorts(this.size * 2);
    this.raftPorts = ports.slice(0, this.size);
    this.clientPorts = ports.slice(this.size);
    await this.heal();
    await Promise.all(this.ids.map((_, i) => this.startNode(i)));
  }

  clientAddress(i: number): string {
    return `127.0.0.1:${this.clientPorts[i]}`;
  }

  dataDir(i: number): string {
    return join(this.root, this.ids[i]!);
  }

  /** Starts node `i` (again) and resolves once it serves. */
  async startNode(i: number): Promise<void> {
    const peers = this.ids
      .map((id, j) => ({ id, j }))
      .filter(({ j }) => j !== i)
      .map(({ id, j }) => `${id}:127.0.0.1:${this.raftPorts[j]}:${this.clientPorts[j]}`)
      .join(",");
    const child = spawnCli(
      [
        "kv",
        "node",
        "-id",
        this.ids[i]!,
        "-port",
        String(this.raftPorts[i]),
        "-client-port",
        String(this.clientPorts[i]),
        "-advertise-client-addr",
        this.clientAddress(i),
        "-peers",
        peers,
        "--data-dir",
        this.dataDir(i),
        "--bind",
        "127.0.0.1",
        "--fault-file",
        join(this.root, `faults-${this.ids[i]}.json`),
        "--quiet",
        ...this.extraArgs,
      ],
      { SANDSTORE_CLUSTER_TOKEN: this.token },
    );
    let stderr = "";
    child.stderr!.on("data", (chunk) => {
      stderr += String(chunk);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`kv node ${i} did not start: ${stderr}`)),
        20_000,
      );
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (line.includes(" client ")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`kv node ${i} exited with ${code}: ${stderr}`));
      });
    });
    this.children.set(i, child);
  }

  async kill(i: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.children.get(i);
    if (!child) return;
    this.children.delete(i);
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill(signal);
    });
  }

  isRunning(i: number): boolean {
    return this.children.has(i);
  }

  /** Cuts node `i` off from every other node (both ways). */
  async isolate(i: number): Promise<void> {
    await Promise.all(
      this.ids.map((id, j) =>
        writeFile(
          join(this.root, `faults-${id}.json`),
          JSON.stringify({ drop: j === i ? this.ids.filter((_, k) => k !== i) : [this.ids[i]] }),
        ),
      ),
    );
  }

  async heal(): Promise<void> {
    await Promise.all(
      this.ids.map((id) =>
        writeFile(join(this.root, `faults-${id}.json`), JSON.stringify({ drop: [] })),
      ),
    );
  }

  /** Sends one line to node `i` and returns the reply line. */
  async request(i: number, line: string, timeoutMs = 5000): Promise<string> {
    const connection = await KvConnection.open(this.clientAddress(i));
    try {
      return await Promise.race([
        connection.request(line),
        new Promise<string>((resolve) => setTimeout(() => resolve("(no reply)"), timeoutMs)),
      ]);
    } finally {
      connection.close();
    }
  }

  /** The index of the node that accepts writes, polling until `timeoutMs`. */
  async leader(timeoutMs = 10_000, among?: number[]): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const candidates = among ?? this.ids.map((_, i) => i);
    while (Date.now() < deadline) {
      for (const i of candidates) {
        if (!this.isRunning(i)) continue;
        const reply = await this.request(i, "SET __leader_probe x", 2000).catch(() => "");
        if (reply === "OK") return i;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no leader within ${timeoutMs} ms`);
  }

  async close(): Promise<void> {
    for (const i of [...this.children.keys()]) await this.kill(i, "SIGTERM");
    await rm(this.root, { recursive: true, force: true });
  }
}
