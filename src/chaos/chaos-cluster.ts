/**
 * A cluster of real node processes for a chaos run, of any replicated topology, started the
 * one way every topology starts (`sandstore node --topology NAME`), on 127.0.0.1 or each
 * in its own network namespace. Each node has its data directory and a fault file under the
 * run's root. The harness kills,
 * pauses, restarts and cuts nodes; every exit it did not cause is recorded, because a node
 * that dies on its own is a failure of the run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { freePorts } from "../common/free-ports.ts";
import { NODE_RUNTIME_FLAGS } from "../common/runtime-flags.ts";
import { LocalEtcd } from "../membership/local-etcd.ts";
import { pick } from "../raft/core/random.ts";
import { type BrokenRule, TOPOLOGIES, type TopologyDescriptor } from "../topologies/index.ts";
import { operatorPeerAuth } from "../topologies/peer-credentials.ts";
import { addVoter, changeMembership, type LeaderFinder } from "../transport/admin-membership.ts";
import type { Faults } from "../transport/fault-file.ts";
import {
  AdminClient,
  type AdminNodeState,
  type MembershipChangeKind,
} from "../transport/grpc-admin-service.ts";
import { NetworkNamespaces } from "./network-namespaces.ts";
import { TcpProxy } from "./tcp-proxy.ts";

const CLI = resolve(import.meta.dirname, "../../bin/sandstore.js");
/** How long a node may take to start listening. */
const START_TIMEOUT_MS = 30_000;
/** How long one membership step may take, through elections and a learner catching up. */
/** Snapshots often, so runs exercise InstallSnapshot and corruptions find snapshot files. */
const SNAPSHOT_ENTRIES = 1000;
const MEMBERSHIP_TIMEOUT_MS = 60_000;
/** A WAL flip lands in this many last bytes of the newest segment: its last few records. */
const WAL_TAIL_BYTES = 64;

/** Which of a stopped node's files a corruption damages. */
export type CorruptionTarget = "wal" | "snapshot" | "chunk";

/** One flipped bit: where, so the checks can ask whether the node named it. */
export interface Corruption {
  readonly target: CorruptionTarget;
  readonly file: string;
  readonly offset: number;
}

/** The name of a topology a chaos run can start: one whose members form a group. */
export type ChaosTopology = string;

/** The topologies a chaos run can start, in the registry's order. */
export const CHAOS_TOPOLOGIES: readonly ChaosTopology[] = Object.keys(TOPOLOGIES).filter(
  (name) => TOPOLOGIES[name]?.members === "group",
);

/**
 * The descriptor of `topology`; a RangeError naming the ones a chaos run can start when it is
 * not one of them.
 */
export function chaosTopology(topology: ChaosTopology): TopologyDescriptor {
  const descriptor = TOPOLOGIES[topology];
  if (descriptor === undefined || descriptor.members !== "group")
    throw new RangeError(
      `a chaos run starts a replicated topology (${CHAOS_TOPOLOGIES.join(", ")}), not "${topology}"`,
    );
  return descriptor;
}

/** Data servers of a disaggregated chaos cluster: R = 3 copies, one more for repair to use. */
const DATA_SERVERS = 4;

export interface ChaosClusterOptions {
  readonly topology: ChaosTopology;
  /** Nodes of the Raft group: every node, or a disaggregated cluster's metadata servers. */
  readonly nodes: number;
  /** The run's directory: node data in `<root>/nI`, fault files beside them. */
  readonly root: string;
  /** Chunk size of a hyperconverged cluster (small, so files span several chunks). */
  readonly chunkSize?: number;
  /** A rule every node breaks on purpose (the broken builds of the chaos tests). */
  readonly brokenRule?: BrokenRule;
  /**
   * How partitions are made: `loopback` (default), every node on 127.0.0.1 cut by its fault
   * file; `netns` (root only), every node in its own network namespace cut by nftables.
   */
  readonly network?: "loopback" | "netns";
  /**
   * Membership of the file topologies: `static` (default), or `etcd`, a local etcd the
   * harness starts, which each node reaches through a proxy of its own (so etcd can be cut
   * off from one node). Loopback only: the proxies listen on 127.0.0.1.
   */
  readonly membership?: "static" | "etcd";
  /** Copies of each chunk (the file topologies); default the topology's. */
  readonly replication?: number;
  /**
   * How long a chunk copy's server may be down before repair replaces the copy, ms; default
   * the node's (5 minutes).
   */
  readonly repairLostAfterMs?: number;
  /**
   * HTTP on every node (metrics, REST API, dashboard): node i on 127.0.0.1:(base+i), or on
   * free ports with `ephemeral`. Default none.
   */
  readonly http?: number | "ephemeral";
}

/** Key prefix of a chaos cluster's members in its etcd. */
const ETCD_PREFIX = "/chaos";

/** An exit the harness did not cause. */
export interface UnexpectedExit {
  readonly node: string;
  readonly code: number | null;
  readonly signal: string | null;
  readonly atMs: number;
  readonly stderr: string;
}

/**
 * Every node process any cluster in this process started and has not stopped. When the
 * harness dies (an uncaught error, Ctrl-C, a closed stdout), they die with it: orphaned nodes
 * would hold ports and disk and disturb the next run.
 */
const liveChildren = new Set<ChildProcess>();
/** Network namespaces made and not yet removed, for the same reason. */
const liveNamespaces = new Set<NetworkNamespaces>();
/** The etcds of clusters not yet stopped, for the same reason. */
const liveEtcds = new Set<LocalEtcd>();
let exitHookInstalled = false;

function killChildrenOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of liveChildren) child.kill("SIGKILL");
    for (const namespaces of liveNamespaces) namespaces.destroyNow();
    for (const etcd of liveEtcds) etcd.killNow();
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () =>
      process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1)),
    );
  }
}

export class ChaosCluster {
  /** The Raft group's members, n1..nN: what partitions, membership changes and settling act on. */
  readonly ids: string[];
  /**
   * Every process: the group's members, then a disaggregated cluster's data servers d1..dD.
   * Node indexes index this.
   */
  readonly allIds: string[];
  /** Cluster token shared by the nodes (and this harness, as their operator). */
  readonly token = randomBytes(16).toString("hex");
  private readonly operator = operatorPeerAuth({ clusterToken: this.token });
  readonly unexpectedExits: UnexpectedExit[] = [];
  private internalPorts: number[] = [];
  private clientPorts: number[] = [];
  private httpPorts: number[] = [];
  private readonly children = new Map<number, ChildProcess>();
  private readonly paused = new Set<number>();
  private readonly admins = new Map<number, AdminClient>();
  private readonly namespaces: NetworkNamespaces | undefined;
  private readonly topology: TopologyDescriptor;
  /** Whether the group's members hold chunks too (hyperconverged), for corruptions to damage. */
  readonly groupHoldsChunks: boolean;
  /** The cluster's etcd, on etcd membership, and each node's way to it. */
  private etcd: LocalEtcd | undefined;
  private readonly etcdProxies: TcpProxy[] = [];
  private readonly etcdEndpoints: string[] = [];

  constructor(readonly o: ChaosClusterOptions) {
    if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 9)
      throw new RangeError(`a chaos cluster has 1 to 9 nodes, not ${o.nodes}`);
    this.topology = chaosTopology(o.topology);
    this.groupHoldsChunks =
      this.topology.serves === "files" &&
      !this.topology.rolesPerNode &&
      this.topology.roles.includes("data");
    this.ids = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
    const dataServers = this.topology.rolesPerNode ? DATA_SERVERS : 0;
    this.allIds = [...this.ids, ...Array.from({ length: dataServers }, (_, i) => `d${i + 1}`)];
    if (o.network === "netns") this.namespaces = new NetworkNamespaces(this.allIds);
    if (o.membership === "etcd" && (this.topology.serves !== "files" || o.network === "netns"))
      throw new RangeError(
        "etcd membership runs with the file topologies, on loopback (the proxies to etcd listen on 127.0.0.1)",
      );
  }

  /** True when the nodes keep their membership in the harness's etcd. */
  get onEtcd(): boolean {
    return this.o.membership === "etcd";
  }

  /** The address node `i` listens on. */
  private host(i: number): string {
    return this.namespaces?.address(i) ?? "127.0.0.1";
  }

  /** Where clients reach node `i`: its client port (kv) or its one port. */
  clientAddress(i: number): string {
    const port = this.topology.serves === "keys" ? this.clientPorts[i] : this.internalPorts[i];
    return `${this.host(i)}:${port}`;
  }

  /** Every node's client address. */
  clientAddresses(): string[] {
    return this.ids.map((_, i) => this.clientAddress(i));
  }

  /** Where node `i` serves HTTP, when the cluster has it. */
  httpAddress(i: number): string | undefined {
    const port = this.httpPorts[i];
    return port === undefined ? undefined : `${this.host(i)}:${port}`;
  }

  dataDir(i: number): string {
    return join(this.o.root, this.allIds[i]!);
  }

  isRunning(i: number): boolean {
    return this.children.has(i);
  }

  isPaused(i: number): boolean {
    return this.paused.has(i);
  }

  async start(): Promise<void> {
    const count = this.allIds.length;
    const ports = await freePorts(count * 2);
    this.internalPorts = ports.slice(0, count);
    this.clientPorts = ports.slice(count);
    const http = this.o.http;
    if (http === "ephemeral") this.httpPorts = await freePorts(count);
    else if (http !== undefined) this.httpPorts = this.allIds.map((_, i) => http + i);
    if (this.namespaces) {
      killChildrenOnExit();
      liveNamespaces.add(this.namespaces);
      await this.namespaces.create();
    }
    await this.healAll();
    if (this.onEtcd) await this.startEtcd();
    await Promise.all(this.allIds.map((_, i) => this.startNode(i)));
  }

  /** Starts the cluster's etcd and a proxy to it per node. */
  private async startEtcd(): Promise<void> {
    killChildrenOnExit();
    const [clientPort = 0, peerPort = 0] = await freePorts(2);
    const etcd = new LocalEtcd({ dataDir: join(this.o.root, "etcd"), clientPort, peerPort });
    this.etcd = etcd;
    liveEtcds.add(etcd);
    await etcd.start();
    for (const _ of this.allIds) {
      const proxy = new TcpProxy({ host: "127.0.0.1", port: clientPort });
      this.etcdProxies.push(proxy);
      this.etcdEndpoints.push(await proxy.start());
    }
  }

  /** SIGKILL of the etcd; `restartEtcd` brings it back on the same data. */
  async killEtcd(): Promise<void> {
    await this.etcd?.kill();
  }

  async restartEtcd(): Promise<void> {
    if (this.etcd && !this.etcd.running) await this.etcd.start();
  }

  pauseEtcd(): void {
    this.etcd?.pause();
  }

  /** Cuts node `i` off from etcd alone: its proxy resets and refuses connections. */
  cutEtcdFrom(i: number): void {
    this.etcdProxies[i]?.cut();
  }

  /** Ends every etcd fault: running, not paused, reachable from every node. */
  async healEtcd(): Promise<void> {
    if (!this.etcd) return;
    this.etcd.resume();
    await this.restartEtcd();
    for (const proxy of this.etcdProxies) proxy.heal();
  }

  private nodeArgs(i: number): string[] {
    const address = (j: number) => `${this.host(j)}:${this.internalPorts[j]}`;
    const common = [
      ...["node", "--topology", this.o.topology, "--id", this.allIds[i] ?? "", "--quiet"],
      ...["--listen", address(i), "--data-dir", this.dataDir(i), "--cluster-token", this.token],
      ...["--fault-file", join(this.o.root, `faults-${this.allIds[i]}.json`)],
      ...(this.onEtcd ? ["--membership", `etcd://${this.etcdEndpoints[i]}${ETCD_PREFIX}`] : []),
      ...(this.httpPorts[i] === undefined
        ? []
        : ["--http", `${this.host(i)}:${this.httpPorts[i]}`]),
    ];
    if (i >= this.ids.length) {
      const metadata = this.ids.map((_, j) => address(j)).join(",");
      return [...common, "--roles", "data", "--metadata", metadata];
    }
    const keys = this.topology.serves === "keys";
    const peers = this.ids.map(
      (id, j) => `${id}=${address(j)}${keys ? `/${this.clientAddress(j)}` : ""}`,
    );
    const group = [
      ...common,
      "--peers",
      peers.join(","),
      "--snapshot-entries",
      `${SNAPSHOT_ENTRIES}`,
    ];
    if (keys)
      return [
        ...group,
        ...["--client-listen", this.clientAddress(i)],
        ...(this.o.brokenRule ? ["--break-rule", this.o.brokenRule] : []),
      ];
    return [
      ...group,
      ...(this.topology.rolesPerNode
        ? ["--roles", "metadata", "--capability-lifetime-ms", "4000"]
        : []),
      ...["--chunk-size", String(this.o.chunkSize ?? 4096)],
      ...(this.o.replication === undefined ? [] : ["--replication", `${this.o.replication}`]),
      ...(this.o.repairLostAfterMs === undefined
        ? []
        : ["--repair-lost-after-ms", `${this.o.repairLostAfterMs}`]),
      ...["--repair-interval-ms", "500", "--scrub-interval-ms", "1000"],
      ...["--gc-grace-ms", "5000", "--gc-interval-ms", "2000"],
    ];
  }

  /** Starts node `i` (again, with the same configuration) and resolves once it listens. */
  async startNode(i: number): Promise<void> {
    if (this.children.has(i)) return;
    killChildrenOnExit();
    // `ip netns exec` execs the node in place: the child's pid is the node's, for signals.
    const [command, ...args] = this.namespaces
      ? this.namespaces.wrap(i, [process.execPath, ...NODE_RUNTIME_FLAGS, CLI, ...this.nodeArgs(i)])
      : [process.execPath, ...NODE_RUNTIME_FLAGS, CLI, ...this.nodeArgs(i)];
    const child = spawn(command!, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: process.env,
    });
    liveChildren.add(child);
    child.once("exit", () => liveChildren.delete(child));
    let stderr = "";
    child.stderr!.on("data", (piece) => {
      // The last few KiB say why a node died; more would only grow.
      stderr = (stderr + String(piece)).slice(-8192);
    });
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`${this.allIds[i]} did not start: ${stderr}`)),
        START_TIMEOUT_MS,
      );
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (/listening on/.test(line)) {
          clearTimeout(timer);
          done();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        fail(new Error(`${this.allIds[i]} exited with ${code} while starting: ${stderr}`));
      });
    });
    this.children.set(i, child);
    child.once("exit", (code, signal) => {
      // Still registered: the harness did not ask for this exit.
      if (this.children.get(i) !== child) return;
      this.children.delete(i);
      this.unexpectedExits.push({ node: this.allIds[i]!, code, signal, atMs: Date.now(), stderr });
    });
  }

  /** SIGKILL of node `i`: no chance to flush or close anything. */
  async kill(i: number): Promise<void> {
    const child = this.children.get(i);
    if (!child) return;
    this.children.delete(i);
    this.paused.delete(i);
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      child.once("exit", () => done());
      child.kill("SIGKILL");
    });
  }

  /** SIGSTOP: the node stays up but does nothing, as in a long GC pause or a VM stall. */
  pause(i: number): void {
    const child = this.children.get(i);
    if (!child || this.paused.has(i)) return;
    child.kill("SIGSTOP");
    this.paused.add(i);
  }

  resume(i: number): void {
    const child = this.children.get(i);
    if (!child || !this.paused.delete(i)) return;
    child.kill("SIGCONT");
  }

  /**
   * Cuts node `i` off as `faults` says (what it cannot hear from or send to): through its
   * fault file, or in netns mode through nftables rules in its namespace.
   */
  async setFaults(i: number, faults: Faults): Promise<void> {
    if (this.namespaces) {
      await this.namespaces.setFaults(i, faults);
      return;
    }
    await writeFile(join(this.o.root, `faults-${this.allIds[i]}.json`), JSON.stringify(faults));
  }

  async healAll(): Promise<void> {
    await Promise.all(this.allIds.map((_, i) => this.setFaults(i, {})));
  }

  private admin(i: number): AdminClient {
    let client = this.admins.get(i);
    if (!client) {
      const address = `${this.host(i)}:${this.internalPorts[i]}`;
      client = new AdminClient(address, this.operator);
      this.admins.set(i, client);
    }
    return client;
  }

  /** Node `i`'s consensus state; undefined when it is down, paused or does not answer. */
  async nodeState(i: number, timeoutMs = 2000): Promise<AdminNodeState | undefined> {
    if (!this.children.has(i) || this.paused.has(i)) return undefined;
    try {
      return await this.admin(i).nodeState(timeoutMs);
    } catch {
      return undefined;
    }
  }

  /** The index of the node that says it leads, if one does now. */
  async leader(): Promise<number | undefined> {
    const states = await Promise.all(this.ids.map((_, i) => this.nodeState(i)));
    const index = states.findIndex((state) => state?.role === "leader");
    return index < 0 ? undefined : index;
  }

  /** Asks the leader `from` to hand leadership to node `to`; false when it could not. */
  async transferLeadership(from: number, to: number): Promise<boolean> {
    try {
      return await this.admin(from).transferLeadership(this.ids[to]!);
    } catch {
      return false;
    }
  }

  /** The leader's admin client and state, for the membership steps. */
  private readonly findLeader: LeaderFinder = async () => {
    const leader = await this.leader();
    const state = leader === undefined ? undefined : await this.nodeState(leader);
    return leader === undefined || !state ? undefined : { client: this.admin(leader), state };
  };

  /** One membership step on node `i` through the leader, retried until it is applied. */
  changeMembership(change: MembershipChangeKind, i: number): Promise<void> {
    return changeMembership(this.findLeader, change, this.ids[i]!, MEMBERSHIP_TIMEOUT_MS);
  }

  /** Makes node `i` a voter again: added as a learner, promoted once it has caught up. */
  addVoter(i: number): Promise<void> {
    return addVoter(this.findLeader, this.ids[i]!, MEMBERSHIP_TIMEOUT_MS);
  }

  /** Nodes the leader does not count as voters (removed, or still learners). */
  async nonVoters(): Promise<number[]> {
    const deadline = Date.now() + MEMBERSHIP_TIMEOUT_MS;
    for (;;) {
      const state = (await this.findLeader())?.state;
      if (state)
        return this.ids.map((_, i) => i).filter((i) => !state.voters.includes(this.ids[i]!));
      if (Date.now() >= deadline) throw new Error("no leader to ask for the voters");
      await new Promise((done) => setTimeout(done, 200));
    }
  }

  /**
   * Deletes stopped node `i`'s consensus state (Raft log, snapshots, the state machine), as an
   * operator does to a node whose log is damaged; its chunks and logs stay. It must rejoin as
   * a new member (`addVoter` after removal), never with its old votes forgotten.
   */
  async wipeConsensusState(i: number): Promise<void> {
    if (this.children.has(i)) throw new Error(`${this.allIds[i]} is running: stop it first`);
    const parts = this.topology.serves === "keys" ? ["raft", "kv"] : ["raft", "metadata"];
    for (const part of parts)
      await rm(join(this.dataDir(i), part), { recursive: true, force: true });
  }

  /**
   * Flips one bit of stopped node `i`'s `target` files: in the last bytes of its newest WAL
   * segment, anywhere in its newest snapshot, or anywhere in one of its chunk files. Falls
   * back to the WAL when it has no file of that kind. Undefined when it has no WAL either.
   */
  async corrupt(
    i: number,
    target: CorruptionTarget,
    random: () => number,
  ): Promise<Corruption | undefined> {
    if (this.children.has(i)) throw new Error(`${this.allIds[i]} is running: stop it first`);
    const raft = join(this.dataDir(i), "raft");
    const files = async (dir: string, pattern: RegExp) =>
      (await readdir(dir).catch(() => [] as string[]))
        .filter((name) => pattern.test(name))
        .sort()
        .map((name) => join(dir, name));
    let file: string | undefined;
    if (target === "snapshot") file = (await files(join(raft, "snap"), /\.snap$/)).at(-1);
    if (target === "chunk") {
      const chunks = join(this.dataDir(i), "chunks");
      const prefixes = await files(chunks, /^[0-9a-f]{2}$/);
      const all = (await Promise.all(prefixes.map((dir) => files(dir, /^[0-9a-f]+$/)))).flat();
      if (all.length > 0) file = pick(random, all);
    }
    let kind = target;
    if (file === undefined) {
      kind = "wal";
      file = (await files(join(raft, "wal"), /\.wal$/)).at(-1);
    }
    if (file === undefined) return undefined;
    const size = (await stat(file)).size;
    if (size === 0) return undefined;
    const span = kind === "wal" ? Math.min(WAL_TAIL_BYTES, size) : size;
    const offset = size - 1 - Math.floor(random() * span);
    const handle = await open(file, "r+");
    try {
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, offset);
      byte[0]! ^= 1 << Math.floor(random() * 8);
      await handle.write(byte, 0, 1, offset);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { target: kind, file, offset };
  }

  /** Node `i`'s log file, as written so far (empty when it has none). */
  async logText(i: number): Promise<string> {
    return readFile(join(this.dataDir(i), "node.log"), "utf8").catch(() => "");
  }

  /** Stops every node (SIGKILL: a run's data is evidence, not a store to keep clean). */
  async stop(): Promise<void> {
    for (const i of [...this.paused]) this.resume(i);
    await Promise.all([...this.children.keys()].map((i) => this.kill(i)));
    for (const admin of this.admins.values()) admin.close();
    this.admins.clear();
    for (const proxy of this.etcdProxies) await proxy.stop();
    if (this.etcd) {
      await this.etcd.kill();
      liveEtcds.delete(this.etcd);
    }
    if (this.namespaces) {
      await this.namespaces.destroy();
      liveNamespaces.delete(this.namespaces);
    }
  }
}
