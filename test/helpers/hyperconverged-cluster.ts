/**
 * A file cluster of real node processes on 127.0.0.1 for tests: hyperconverged, or
 * disaggregated (`metadataServers`: nodes n1..nM are the metadata servers, the rest data
 * servers). Start, kill (any signal), restart one node, find the leader, cut Raft and chunk
 * traffic with fault files, read the chunk files on each node's disk. `close` stops every
 * process and removes the data.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile as writeFileOnDisk } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  connect,
  O_CREAT,
  O_RDONLY,
  O_TRUNC,
  O_WRONLY,
  type SandstoreClient,
} from "../../src/index.ts";
import { makeCertificates } from "../../src/transport/certificate-authority.ts";
import { freePorts } from "./kv-cluster.ts";
import { spawnCli, waitFor } from "./node-process.ts";

export interface ClusterOptions {
  /** Nodes in the cluster, data servers included. Default 3. */
  readonly size?: number;
  /**
   * Runs the disaggregated topology: the first this many nodes are its metadata servers, the
   * others its data servers. Absent: hyperconverged.
   */
  readonly metadataServers?: number;
  /**
   * Disaggregated: nodes past the first `metadataServers` started as metadata servers that
   * join the group (`--join`, `--peers` the group and themselves) instead of data servers.
   */
  readonly joiningMetadataServers?: readonly number[];
  /**
   * `--membership` of every node (`etcd://...`); absent: static. On etcd, data servers are
   * not told the metadata servers: they learn them from etcd.
   */
  readonly membership?: string;
  /** Extra `sandstore node` flags for every node. */
  readonly nodeArgs?: readonly string[];
  /** Mutual TLS between the nodes and TLS for clients, with certificates made at start. */
  readonly tls?: boolean;
  /** Gives every node an HTTP port (`--http`), at `httpAddresses[i]`. */
  readonly http?: boolean;
  /** Called with each node's data directory before its first start (to mount a file system on it). */
  readonly prepareDataDir?: (dir: string) => Promise<void>;
  /** Called with each node's data directory once every node has stopped, before removal. */
  readonly releaseDataDir?: (dir: string) => Promise<void>;
}

export class Cluster {
  root = "";
  addresses: string[] = [];
  /** Each node's HTTP address, with the `http` option; empty without. */
  httpAddresses: string[] = [];
  private readonly children = new Map<number, ChildProcess>();
  private readonly exits = new Map<number, Promise<{ code: number | null; stderr: string }>>();
  /** The cluster token every node is started with. */
  readonly token = randomBytes(16).toString("hex");

  constructor(private readonly options: ClusterOptions = {}) {}

  get size(): number {
    return this.options.size ?? 3;
  }

  /** Indexes of the data servers (every node, in a hyperconverged cluster). */
  get dataIndexes(): number[] {
    return this.indexes.slice(this.options.metadataServers ?? 0);
  }

  /** Indexes of the metadata servers (every node, in a hyperconverged cluster). */
  get metadataIndexes(): number[] {
    return this.indexes.slice(0, this.options.metadataServers ?? this.size);
  }

  /** The process id of running node `i`; undefined when it is not running. */
  pid(i: number): number | undefined {
    return this.children.get(i)?.pid;
  }

  /** Indexes of every node, running or not. */
  get indexes(): number[] {
    return Array.from({ length: this.size }, (_, i) => i);
  }

  /** The cluster's CA certificate, when it speaks TLS: what clients pass as `tlsCa`. */
  get tlsCa(): string | undefined {
    return this.options.tls ? join(this.root, "tls", "ca.crt") : undefined;
  }

  /** The TLS directory of holder `name` (a node id or `operator`). */
  tlsDir(name: string): string {
    return join(this.root, "tls", name);
  }

  /** Makes the cluster's directories and ports, and starts nodes `indexes` (default all). */
  async start(indexes: readonly number[] = this.indexes): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), "sandstore-hc-"));
    const ports = await freePorts(this.options.http ? 2 * this.size : this.size);
    this.addresses = ports.slice(0, this.size).map((p) => `127.0.0.1:${p}`);
    this.httpAddresses = ports.slice(this.size).map((p) => `127.0.0.1:${p}`);
    for (const i of this.indexes) await this.options.prepareDataDir?.(this.dataDir(i));
    if (this.options.tls)
      await makeCertificates({
        dir: join(this.root, "tls"),
        nodes: this.indexes.map((i) => `n${i + 1}`),
      });
    await Promise.all(indexes.map((i) => this.startNode(i)));
  }

  /** Where node `i` keeps its data. */
  dataDir(i: number): string {
    return join(this.root, `n${i + 1}`);
  }

  /** The fault file of node `i`: the peers named in it are cut off from it, both ways. */
  faultFile(i: number): string {
    return join(this.root, `n${i + 1}.faults.json`);
  }

  /** Cuts Raft traffic between node `i` and every other node (both ways); `heal` undoes it. */
  async isolate(i: number): Promise<void> {
    for (const j of this.indexes) {
      const drop =
        j === i ? this.indexes.filter((k) => k !== i).map((k) => `n${k + 1}`) : [`n${i + 1}`];
      await writeFileOnDisk(this.faultFile(j), JSON.stringify({ drop }));
    }
  }

  async heal(): Promise<void> {
    for (const j of this.indexes)
      await writeFileOnDisk(this.faultFile(j), JSON.stringify({ drop: [] }));
  }

  /** How many chunk files node `i` holds on its disk. */
  async chunkFiles(i: number): Promise<string[]> {
    const chunkDir = join(this.root, `n${i + 1}`, "chunks");
    const files: string[] = [];
    for (const prefix of (await readdir(chunkDir)).filter((p) => p !== "tmp")) {
      for (const name of await readdir(join(chunkDir, prefix)))
        files.push(join(chunkDir, prefix, name));
    }
    return files;
  }

  isRunning(i: number): boolean {
    return this.children.has(i);
  }

  /**
   * Starts node `i`, with `extraArgs` after the cluster's flags (a later flag wins), and
   * resolves once it listens.
   */
  async startNode(i: number, extraArgs: readonly string[] = []): Promise<void> {
    const m = this.options.metadataServers;
    const group = m === undefined ? this.addresses : this.addresses.slice(0, m);
    const peers = group.map((a, j) => `n${j + 1}=${a}`).join(",");
    const joining = this.options.joiningMetadataServers?.includes(i) ?? false;
    const roleArgs =
      m === undefined
        ? ["--topology", "hyperconverged", "--peers", peers]
        : joining
          ? [
              ...["--topology", "disaggregated", "--roles", "metadata", "--join"],
              ...["--peers", `${peers},n${i + 1}=${this.addresses[i]}`],
            ]
          : i < m
            ? ["--topology", "disaggregated", "--roles", "metadata", "--peers", peers]
            : [
                ...["--topology", "disaggregated", "--roles", "data"],
                ...(this.options.membership ? [] : ["--metadata", group.join(",")]),
              ];
    const child = spawnCli(
      [
        "node",
        ...roleArgs,
        "--id",
        `n${i + 1}`,
        "--listen",
        this.addresses[i]!,
        "--data-dir",
        join(this.root, `n${i + 1}`),
        "--fault-file",
        this.faultFile(i),
        "--quiet",
        ...(this.options.membership ? ["--membership", this.options.membership] : []),
        ...(this.options.tls ? ["--tls-dir", this.tlsDir(`n${i + 1}`)] : []),
        ...(this.options.http ? ["--http", this.httpAddresses[i] ?? ""] : []),
        ...(this.options.nodeArgs ?? []),
        ...extraArgs,
      ],
      { SANDSTORE_CLUSTER_TOKEN: this.token },
    );
    let stderr = "";
    child.stderr!.on("data", (c) => {
      stderr += String(c);
    });
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on(
        "line",
        (line) => line.includes("listening on") && resolve(),
      );
      child.once("exit", (code) => reject(new Error(`node ${i} exited ${code}: ${stderr}`)));
    });
    this.children.set(i, child);
    this.exits.set(
      i,
      new Promise((resolve) =>
        child.once("exit", (code) => {
          if (this.children.get(i) === child) this.children.delete(i);
          resolve({ code, stderr });
        }),
      ),
    );
  }

  /** Resolves when node `i`, started last, exits, with its exit code and stderr. */
  exitOf(i: number): Promise<{ code: number | null; stderr: string }> {
    const exit = this.exits.get(i);
    if (!exit) throw new Error(`node ${i} was never started`);
    return exit;
  }

  async kill(i: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.children.get(i);
    this.children.delete(i);
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill(signal);
    });
  }

  /**
   * The index of the node every running node names as leader, once they agree and each has
   * applied the cluster's settings (the bootstrap is the log's first command).
   */
  async leader(timeoutMs = 10_000): Promise<number> {
    let agreed = -1;
    await waitFor(
      async () => {
        const named = new Set<string>();
        for (const i of this.children.keys()) {
          const client = connect(this.addresses[i]!, {
            retryForMs: 200,
            callTimeoutMs: 1000,
            tlsCa: this.tlsCa,
          });
          const status = await client.status().catch(() => undefined);
          // A node that has not applied the bootstrap's settings yet names no leader here.
          named.add(status && status.chunkSize > 0 ? status.leaderId : "");
          await client.closeClient();
        }
        const [only] = [...named];
        agreed = named.size === 1 && only ? Number(only.slice(1)) - 1 : -1;
        return agreed >= 0 && this.children.has(agreed);
      },
      "every node to name the same leader and know the settings",
      timeoutMs,
    );
    return agreed;
  }

  async close(): Promise<void> {
    for (const i of [...this.children.keys()]) await this.kill(i, "SIGTERM");
    for (const i of this.indexes) await this.options.releaseDataDir?.(this.dataDir(i));
    if (!process.env.SANDSTORE_KEEP_TEST_DATA)
      await rm(this.root, { recursive: true, force: true });
  }
}

export async function writeFile(
  client: SandstoreClient,
  path: string,
  data: Buffer,
): Promise<void> {
  const fd = await client.open(path, O_CREAT | O_WRONLY | O_TRUNC);
  await client.write(fd, data);
  await client.close(fd);
}

export async function readFile(client: SandstoreClient, path: string): Promise<Buffer> {
  const fd = await client.open(path, O_RDONLY);
  const { size } = await client.stat(path);
  const bytes = await client.pread(fd, size, 0);
  await client.close(fd);
  return bytes;
}
