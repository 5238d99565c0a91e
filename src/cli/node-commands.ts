/**
 * Commands that run nodes: `node` (one node) and `up` (a local cluster in the foreground),
 * and `status`.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { type Command, Option } from "commander";
import { clusterStatus } from "../client/cluster-status.ts";
import { connect } from "../client/connect.ts";
import { missingRuntimeFlags, NODE_RUNTIME_FLAGS } from "../common/runtime-flags.ts";
import { type EtcdLocation, parseEtcdLocation } from "../membership/etcd-membership.ts";
import { LocalEtcd } from "../membership/local-etcd.ts";
import type { NodeRole } from "../membership/membership.ts";
import { settingsProblem } from "../metadata/cluster-settings.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { AUTH_MODES, type AuthMode } from "../server/client-authenticator.ts";
import {
  BROKEN_RULES,
  type BrokenRule,
  type RunningNode,
  TOPOLOGIES,
  type TopologyDescriptor,
} from "../topologies/index.ts";
import { CA_FILES, makeCertificates } from "../transport/certificate-authority.ts";
import { TLS_FILES } from "../transport/tls-peer-auth.ts";
import {
  type ClusterFlags,
  type CredentialFlags,
  hostPort,
  localClusterToken,
  nonNegativeInteger,
  positiveInteger,
  UsageError,
  withClient,
  withCluster,
  withCredentials,
} from "./cli-support.ts";

interface NodeFlags extends CredentialFlags {
  id: string;
  listen: string;
  http?: string;
  dataDir: string;
  topology: string;
  peers?: string;
  join?: boolean;
  membership: string;
  chunkSize?: number;
  gcIntervalMs?: number;
  gcGraceMs?: number;
  logLevel: string;
  quiet?: boolean;
  snapshotEntries?: number;
  replication?: number;
  writeQuorum?: number;
  repairIntervalMs?: number;
  repairLostAfterMs?: number;
  capabilityLifetimeMs?: number;
  inventoryIntervalMs?: number;
  scrubIntervalMs?: number;
  scrubBytesPerSecond?: number;
  tickMs?: number;
  faultFile?: string;
  placement: "sorted" | "rendezvous";
  auth: AuthMode;
  diskReserveBytes?: number;
  roles?: string;
  metadata?: string;
  clientListen?: string;
  breakRule?: BrokenRule;
}

interface UpFlags {
  nodes?: number;
  metadataServers?: number;
  dataServers?: number;
  topology: string;
  dataDir: string;
  basePort: number;
  httpBasePort: number;
  membership: string;
  chunkSize?: number;
  tls?: boolean;
  auth: AuthMode;
}

/**
 * Where `up --membership etcd` puts its local etcd: the client port this far above
 * `--base-port` (9001 for the default 7001), the peer port one above that.
 */
const LOCAL_ETCD_PORT_OFFSET = 2000;

/** Metadata servers `up` allows: a Raft group of an odd size that tolerates 0, 1 or 2 losses. */
const METADATA_GROUP_SIZES = [1, 3, 5];
/** Metadata servers `up` starts unless told (SPEC §2): a group that survives one loss. */
const DEFAULT_METADATA_SERVERS = 3;

/**
 * The nodes `sandstore up` runs, with ids, ports from `--base-port` on, and roles: `n1..nN`
 * serving every role, or for a topology whose nodes differ, metadata servers `m1..mM` then
 * data servers `d1..dD`. Usage errors for counts the topology does not take.
 */
function localMembers(
  topology: TopologyDescriptor,
  flags: UpFlags,
): Array<{
  id: string;
  address: string;
  clientAddress?: string;
  httpAddress: string;
  roles: readonly NodeRole[];
}> {
  const address = (i: number) => `127.0.0.1:${flags.basePort + i}`;
  const httpAddress = (i: number) => `127.0.0.1:${flags.httpBasePort + i}`;
  // A topology with a client port of its own puts those ports 1000 above the nodes' ports.
  const clientAddress = (i: number) =>
    topology.serves === "keys" ? { clientAddress: `127.0.0.1:${flags.basePort + 1000 + i}` } : {};
  if (!topology.rolesPerNode) {
    if (flags.metadataServers !== undefined || flags.dataServers !== undefined)
      throw new UsageError(
        `every node of the ${flags.topology} topology serves both roles: use --nodes, not --metadata-servers or --data-servers`,
      );
    const count = flags.nodes ?? topology.defaultNodes;
    if (topology.members === "one" && count !== 1)
      throw new UsageError(
        `the ${flags.topology} topology runs exactly one node; drop --nodes or use --topology hyperconverged`,
      );
    return Array.from({ length: count }, (_, i) => ({
      id: `n${i + 1}`,
      address: address(i),
      ...clientAddress(i),
      httpAddress: httpAddress(i),
      roles: topology.roles,
    }));
  }
  if (flags.nodes !== undefined)
    throw new UsageError(
      `the ${flags.topology} topology takes --metadata-servers and --data-servers, not --nodes`,
    );
  const m = flags.metadataServers ?? DEFAULT_METADATA_SERVERS;
  const d = flags.dataServers ?? topology.defaultNodes;
  if (!METADATA_GROUP_SIZES.includes(m))
    throw new UsageError(`--metadata-servers must be 1, 3 or 5, got ${m}`);
  return [
    ...Array.from({ length: m }, (_, i) => ({
      id: `m${i + 1}`,
      address: address(i),
      httpAddress: httpAddress(i),
      roles: ["metadata"] as const,
    })),
    ...Array.from({ length: d }, (_, i) => ({
      id: `d${i + 1}`,
      address: address(m + i),
      httpAddress: httpAddress(m + i),
      roles: ["data"] as const,
    })),
  ];
}

/** Parses `host:port,...` given to `flag`; an absent flag is an empty list. */
function parseAddressList(text: string | undefined, flag: string): string[] {
  const addresses = (text ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
  for (const address of addresses) {
    try {
      hostPort(address);
    } catch {
      throw new UsageError(`${flag}: "${address}" is not host:port`);
    }
  }
  return addresses;
}

/**
 * Parses `id=host:port,...`, where each entry may add `/host:port`, the member's client
 * address (a topology with a client port of its own: kv). Adds this node when the list leaves
 * it out.
 */
function parseMembers(
  text: string | undefined,
  self: { id: string; address: string; clientAddress?: string },
): Array<{ id: string; address: string; clientAddress?: string }> {
  const members = (text ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const match = /^([A-Za-z0-9_.-]+)=([^/]+:\d{1,5})(?:\/(.+:\d{1,5}))?$/.exec(part);
      if (!match?.[1] || !match[2])
        throw new UsageError(
          `peer "${part}" is not id=host:port (or id=host:port/host:clientPort)`,
        );
      return match[3] === undefined
        ? { id: match[1], address: match[2] }
        : { id: match[1], address: match[2], clientAddress: match[3] };
    });
  const ids = new Set<string>();
  for (const member of members) {
    if (ids.has(member.id)) throw new UsageError(`peer id ${member.id} appears twice`);
    ids.add(member.id);
  }
  if (!ids.has(self.id)) members.push(self);
  return members;
}

/**
 * The file store's flags given to a topology that serves keys, which has no files or
 * chunks to apply them to: each is a usage error rather than silently ignored.
 */
const FILE_STORE_FLAGS: ReadonlyArray<[keyof NodeFlags, string]> = [
  ["chunkSize", "--chunk-size"],
  ["gcIntervalMs", "--gc-interval-ms"],
  ["gcGraceMs", "--gc-grace-ms"],
  ["replication", "--replication"],
  ["writeQuorum", "--write-quorum"],
  ["repairIntervalMs", "--repair-interval-ms"],
  ["repairLostAfterMs", "--repair-lost-after-ms"],
  ["capabilityLifetimeMs", "--capability-lifetime-ms"],
  ["inventoryIntervalMs", "--inventory-interval-ms"],
  ["scrubIntervalMs", "--scrub-interval-ms"],
  ["scrubBytesPerSecond", "--scrub-bytes-per-second"],
  ["diskReserveBytes", "--disk-reserve-bytes"],
  ["metadata", "--metadata"],
];

/** Usage errors for flags `topology` does not take, by what it serves. */
function checkServedFlags(topology: TopologyDescriptor, name: string, flags: NodeFlags): void {
  if (topology.serves === "files") {
    if (flags.clientListen !== undefined)
      throw new UsageError(
        `the ${name} topology serves clients on --listen; --client-listen is for --topology kv`,
      );
    if (flags.breakRule !== undefined)
      throw new UsageError(`--break-rule ${flags.breakRule} is for --topology kv`);
    return;
  }
  for (const [key, flag] of FILE_STORE_FLAGS)
    if (flags[key] !== undefined)
      throw new UsageError(`the ${name} topology stores keys, not files: remove ${flag}`);
  if (flags.auth !== "off")
    throw new UsageError(
      `the ${name} topology's plaintext protocol has no users: remove --auth ${flags.auth}`,
    );
  if (flags.clientListen === undefined)
    throw new UsageError(
      `the ${name} topology serves clients on a port of its own: give --client-listen host:port`,
    );
}

/** The descriptor of topology `name`, or a usage error naming the known ones. */
function checkTopology(name: string, membership: string): TopologyDescriptor {
  const topology = TOPOLOGIES[name];
  if (!topology)
    throw new UsageError(
      `unknown topology "${name}"; known: ${Object.keys(TOPOLOGIES).join(", ")}`,
    );
  const etcd = etcdLocation(membership);
  if (etcd && !topology.memberships.includes("etcd"))
    throw new UsageError(
      `the ${name} topology runs on static membership only: remove --membership`,
    );
  return topology;
}

/**
 * `--membership`: `static` (undefined), or etcd's endpoints and prefix. A usage error names
 * what is wrong.
 */
function etcdLocation(membership: string): EtcdLocation | undefined {
  if (membership === "static") return undefined;
  try {
    return parseEtcdLocation(membership);
  } catch (error) {
    throw new UsageError(
      `--membership: ${error instanceof Error ? error.message : String(error)}; or static`,
    );
  }
}

/** Stops `nodes` on SIGINT or SIGTERM; a second signal exits at once. Resolves when stopped. */
/**
 * Runs until SIGINT or SIGTERM, or until a node fails on its own (`RunningNode.failed`),
 * then stops every node. A failure is reported on stderr and makes the exit status 1.
 */
function runUntilStopped(nodes: RunningNode[], log: (message: string) => void): Promise<void> {
  return new Promise((done) => {
    let stopping = false;
    const stop = (reason: string, status: number) => {
      if (stopping) process.exit(1);
      stopping = true;
      log(`${reason}: stopping`);
      Promise.all(nodes.map((node) => node.stop())).then(
        () => {
          process.exitCode = status;
          done();
        },
        (error) => {
          log(`stop failed: ${String(error)}`);
          process.exit(1);
        },
      );
    };
    process.once("SIGINT", () => stop("SIGINT", 0));
    process.once("SIGTERM", () => stop("SIGTERM", 0));
    for (const node of nodes)
      node.failed.then((error) => {
        console.error(`sandstore: node ${node.id}: ${error.message}`);
        stop(`node ${node.id} failed`, 1);
      });
  });
}

/** `--auth`: whether clients must prove who they are. */
function authOption(): Option {
  return new Option(
    "--auth <mode>",
    "off: every client is root; required: clients prove a user's access key and secret",
  )
    .choices([...AUTH_MODES])
    .default("off");
}

/**
 * The TLS directories of a local cluster's nodes under `dir`: made with a new CA on first
 * use, and again for nodes that have none yet (a cluster started with more nodes).
 */
async function localCertificates(dir: string, ids: readonly string[]): Promise<void> {
  const missing = ids.filter((id) => !existsSync(join(dir, id, TLS_FILES.cert)));
  if (missing.length === 0 && existsSync(join(dir, CA_FILES.cert))) return;
  await makeCertificates({ dir, nodes: missing });
}

export function registerNodeCommands(program: Command): void {
  const node = program
    .command("node")
    .description("run one node in the foreground")
    .requiredOption("--id <id>", "this node's id")
    .requiredOption("--listen <host:port>", "address for RPC", hostPort)
    .option(
      "--http <host:port>",
      "address for HTTP: /metrics, /healthz, /readyz and the REST API under /api/v1",
      hostPort,
    )
    .requiredOption("--data-dir <dir>", "where the node keeps everything")
    .addOption(
      new Option("--topology <name>", `topology: ${Object.keys(TOPOLOGIES).join(", ")}`).default(
        "single",
      ),
    )
    .option("--peers <list>", "other nodes, id=host:port,... (replicated topologies)")
    .option(
      "--join",
      "at first start, join the running metadata group of --peers instead of forming one: wait for sandstore member add",
    )
    .addOption(
      new Option(
        "--membership <kind>",
        "static, or etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (hyperconverged, disaggregated)",
      ).default("static"),
    )
    .option("--chunk-size <bytes>", "chunk size of a new cluster (default 8 MiB)", positiveInteger)
    .option("--gc-interval-ms <ms>", "time between garbage collection passes", nonNegativeInteger)
    .option(
      "--gc-grace-ms <ms>",
      "age below which unreferenced chunks are kept",
      nonNegativeInteger,
    )
    .addOption(
      new Option("--log-level <level>", "log level")
        .choices(["debug", "info", "warn", "error"])
        .default("info"),
    )
    .option("--quiet", "log only to the data directory");
  withCredentials(node, "the nodes' internal services")
    .option(
      "--snapshot-entries <n>",
      "snapshot the metadata after this many entries",
      positiveInteger,
    )
    .option(
      "--replication <r>",
      "copies of each chunk of a new cluster (default 3)",
      positiveInteger,
    )
    .option(
      "--write-quorum <w>",
      "durable copies before a write commits, 1 to R, for a new cluster (default a majority of R)",
      positiveInteger,
    )
    .option(
      "--tick-ms <ms>",
      "Raft tick: heartbeats every tick, elections after 10 to 20 silent ticks (default 50)",
      positiveInteger,
    )
    .option("--fault-file <path>", "JSON file naming peers to cut off (testing)")
    .option(
      "--repair-interval-ms <ms>",
      "time between repair passes on the leader (default 10000)",
      positiveInteger,
    )
    .option(
      "--capability-lifetime-ms <ms>",
      "how long a chunk capability a metadata server signs works (disaggregated; default 120000)",
      positiveInteger,
    )
    .option(
      "--inventory-interval-ms <ms>",
      "disaggregated: time between a data server's chunk inventories to the metadata servers (default 10000)",
      positiveInteger,
    )
    .option(
      "--repair-lost-after-ms <ms>",
      "how long a data node may be unreachable before its copies are made again elsewhere (default 300,000)",
      nonNegativeInteger,
    )
    .option(
      "--scrub-interval-ms <ms>",
      "time from one scrub pass (every chunk copy read and verified) to the next (default 86400000)",
      positiveInteger,
    )
    .option(
      "--scrub-bytes-per-second <n>",
      "bytes of chunk copies per second the scrub may read, across the cluster (default 16 MiB)",
      positiveInteger,
    )
    .addOption(
      new Option("--placement <strategy>", "where chunk copies go")
        .choices(["sorted", "rendezvous"])
        .default("sorted"),
    )
    .addOption(authOption())
    .option(
      "--disk-reserve-bytes <n>",
      "disk held back in DIR/reserve, released so a full node can start and delete (default 64 MiB)",
      nonNegativeInteger,
    )
    .option(
      "--roles <list>",
      "what this node serves, where the topology lets nodes differ: metadata or data",
    )
    .option("--metadata <list>", "the metadata servers a data server reports to, host:port,...")
    .option(
      "--client-listen <host:port>",
      "kv: the plaintext client port (--listen is then the Raft port, for peers only)",
      hostPort,
    )
    .addOption(
      new Option("--break-rule <rule>", "break a rule on purpose (chaos tests only)")
        .choices([...BROKEN_RULES])
        .hideHelp(),
    )
    .action(async (flags: NodeFlags) => {
      const topology = checkTopology(flags.topology, flags.membership);
      if (flags.peers && topology.members === "one") {
        throw new UsageError(`the ${flags.topology} topology has no peers; remove --peers`);
      }
      checkServedFlags(topology, flags.topology, flags);
      const roles = parseRoles(flags.roles, topology, flags.topology);
      const metadataServers = parseAddressList(flags.metadata, "--metadata");
      const dataOnly = topology.rolesPerNode && !roles.includes("metadata");
      if (dataOnly && metadataServers.length === 0 && flags.membership === "static")
        throw new UsageError(
          "a data server needs --metadata HOST:PORT,... (the metadata servers), or --membership etcd://... to learn them",
        );
      if (flags.join && (dataOnly || topology.members === "one" || topology.serves === "keys"))
        throw new UsageError(
          "--join is for a metadata server or hyperconverged node joining its metadata group",
        );
      if (!dataOnly && metadataServers.length > 0)
        throw new UsageError("--metadata is for data servers; a metadata server takes --peers");
      if (
        !topology.replicationSettable &&
        (flags.replication !== undefined || flags.writeQuorum !== undefined)
      )
        throw new UsageError(
          `the ${flags.topology} topology keeps one copy of each chunk; remove --replication and --write-quorum`,
        );
      const problem = settingsProblem({
        chunkSize: flags.chunkSize,
        replicationFactor: flags.replication,
        writeQuorum: flags.writeQuorum,
      });
      if (problem) throw new UsageError(problem);
      const dataDir = resolve(flags.dataDir);
      await mkdir(dataDir, { recursive: true });
      const logger = createLogger({
        file: join(dataDir, "node.log"),
        pretty: !flags.quiet,
        level: flags.logLevel,
        nodeId: flags.id,
      });
      const peers =
        topology.members === "one" || dataOnly
          ? undefined
          : parseMembers(flags.peers, {
              id: flags.id,
              address: flags.listen,
              clientAddress: flags.clientListen,
            });
      for (const peer of peers ?? []) {
        if (topology.serves === "keys" && peer.clientAddress === undefined)
          throw new UsageError(
            `peer ${peer.id}: a ${flags.topology} peer names its client port too, id=host:port/host:clientPort`,
          );
        if (topology.serves === "files" && peer.clientAddress !== undefined)
          throw new UsageError(
            `peer ${peer.id}: the ${flags.topology} topology's clients use the node's port; write id=host:port`,
          );
      }
      const node = await topology.start({
        id: flags.id,
        listen: flags.listen,
        http: flags.http,
        dataDir,
        chunkSize: flags.chunkSize,
        gcIntervalMs: flags.gcIntervalMs,
        gcGraceMs: flags.gcGraceMs,
        logger,
        peers,
        clientListen: flags.clientListen,
        brokenRule: flags.breakRule,
        etcd: etcdLocation(flags.membership),
        join: flags.join,
        roles,
        metadataServers,
        clusterToken: flags.clusterToken,
        tlsDir: flags.tlsDir === undefined ? undefined : resolve(flags.tlsDir),
        snapshotEntries: flags.snapshotEntries,
        replicationFactor: flags.replication,
        writeQuorum: flags.writeQuorum,
        repairIntervalMs: flags.repairIntervalMs,
        repairLostAfterMs: flags.repairLostAfterMs,
        capabilityLifetimeMs: flags.capabilityLifetimeMs,
        inventoryIntervalMs: flags.inventoryIntervalMs,
        scrubIntervalMs: flags.scrubIntervalMs,
        scrubBytesPerSecond: flags.scrubBytesPerSecond,
        tickMs: flags.tickMs,
        faultFile: flags.faultFile,
        placement: flags.placement,
        auth: flags.auth,
        diskReserveBytes: flags.diskReserveBytes,
      });
      warnWithoutRuntimeFlags(logger);
      // Test harnesses wait for this line to learn the real port.
      console.log(
        `sandstore node ${node.id} listening on ${node.address}${node.clientAddress ? ` and serving clients on ${node.clientAddress}` : ""}${node.httpAddress ? `, HTTP on ${flags.tlsDir ? "https" : "http"}://${node.httpAddress}` : ""}`,
      );
      await runUntilStopped([node], (message) => logger.info(message));
    });

  /** Whether `--roles` is allowed, and the roles it names (default: all the topology's). */
  function parseRoles(
    list: string | undefined,
    topology: TopologyDescriptor,
    name: string,
  ): NodeRole[] {
    if (list === undefined) return [...topology.roles];
    if (!topology.rolesPerNode)
      throw new UsageError(`every node of the ${name} topology serves every role; remove --roles`);
    const roles = list.split(",").map((role) => role.trim());
    for (const role of roles)
      if (!topology.roles.some((known) => known === role))
        throw new UsageError(`unknown role "${role}"; known: ${topology.roles.join(", ")}`);
    return topology.roles.filter((role) => roles.includes(role));
  }

  program
    .command("up")
    .description("run a local cluster in the foreground; Ctrl-C stops it")
    .option("--nodes <n>", "how many nodes", positiveInteger)
    .option(
      "--metadata-servers <m>",
      "disaggregated: metadata servers, 1, 3 or 5 (default 3; 1 is one master, as GFS)",
      positiveInteger,
    )
    .option("--data-servers <d>", "disaggregated: data servers (default 3)", positiveInteger)
    .addOption(
      new Option("--topology <name>", `topology: ${Object.keys(TOPOLOGIES).join(", ")}`).default(
        "hyperconverged",
      ),
    )
    .option("--data-dir <dir>", "data directory; node i keeps its data in DIR/nI", "./.sandstore")
    .option("--base-port <port>", "node i listens on 127.0.0.1:(P+i-1)", positiveInteger, 7001)
    .option(
      "--http-base-port <port>",
      "node i serves HTTP (metrics, the REST API) on 127.0.0.1:(P+i-1)",
      positiveInteger,
      8001,
    )
    .addOption(
      new Option(
        "--membership <kind>",
        "static; etcd, a local etcd started here in DIR/etcd; or etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (hyperconverged, disaggregated)",
      ).default("static"),
    )
    .option("--chunk-size <bytes>", "chunk size of a new cluster (default 8 MiB)", positiveInteger)
    .option(
      "--tls",
      "mutual TLS between the nodes and TLS for clients, with a CA and certificates made in DIR/tls",
    )
    .addOption(authOption())
    .action(async (flags: UpFlags) => {
      // `--membership etcd`: a local etcd, started here, for the nodes to register in.
      const localEtcd = flags.membership === "etcd";
      const membership = localEtcd
        ? `etcd://127.0.0.1:${flags.basePort + LOCAL_ETCD_PORT_OFFSET}/sandstore`
        : flags.membership;
      const topology = checkTopology(flags.topology, membership);
      if (topology.serves === "keys" && (flags.chunkSize !== undefined || flags.auth !== "off"))
        throw new UsageError(
          `the ${flags.topology} topology stores keys, not files: remove --chunk-size and --auth`,
        );
      const members = localMembers(topology, flags);
      const count = members.length;
      const nodes: RunningNode[] = [];
      const addresses = members.map((member) => member.address);
      const tlsRoot = resolve(flags.dataDir, "tls");
      if (flags.tls)
        await localCertificates(
          tlsRoot,
          members.map((member) => member.id),
        );
      const tlsDirOf = (id: string) => (flags.tls ? join(tlsRoot, id) : undefined);
      // Kept in the data directory, so a restarted cluster and `sandstore member` find it.
      const token = await localClusterToken(resolve(flags.dataDir, "token"));
      const etcd = localEtcd
        ? new LocalEtcd({
            dataDir: resolve(flags.dataDir, "etcd"),
            clientPort: flags.basePort + LOCAL_ETCD_PORT_OFFSET,
            peerPort: flags.basePort + LOCAL_ETCD_PORT_OFFSET + 1,
          })
        : undefined;
      if (etcd) {
        try {
          await etcd.start();
        } catch (error) {
          throw new UsageError(
            `--membership etcd: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        // However this process ends, the etcd it started ends with it.
        process.once("exit", () => void etcd.kill());
        console.log(
          `etcd for the cluster's membership on ${etcd.endpoint}, data in ${resolve(flags.dataDir, "etcd")}`,
        );
      }
      if (topology.members === "one") {
        // One node runs in this process; a group runs each node as its own process.
        const dataDir = resolve(flags.dataDir, "n1");
        await mkdir(dataDir, { recursive: true });
        const logger = createLogger({
          file: join(dataDir, "node.log"),
          pretty: true,
          nodeId: "n1",
        });
        nodes.push(
          await topology.start({
            id: "n1",
            listen: addresses[0]!,
            http: members[0]?.httpAddress,
            dataDir,
            chunkSize: flags.chunkSize,
            tlsDir: tlsDirOf("n1"),
            clusterToken: token,
            auth: flags.auth,
            logger,
          }),
        );
        warnWithoutRuntimeFlags(logger);
      } else {
        // Replicated topologies run each node as its own process, as they would run on machines.
        const spawnNode = (
          id: string,
          address: string,
          httpAddress: string,
          roleArgs: readonly string[],
        ) => {
          const args = [
            process.argv[1]!,
            "node",
            "--topology",
            flags.topology,
            "--id",
            id,
            "--listen",
            address,
            "--http",
            httpAddress,
            "--data-dir",
            resolve(flags.dataDir, id),
            ...roleArgs,
            ...(flags.chunkSize ? ["--chunk-size", String(flags.chunkSize)] : []),
            ...(flags.tls ? ["--tls-dir", join(tlsRoot, id)] : []),
            ...["--auth", flags.auth],
            ...(membership === "static" ? [] : ["--membership", membership]),
          ];
          const child = spawn(process.execPath, [...NODE_RUNTIME_FLAGS, ...args], {
            stdio: ["ignore", "pipe", "inherit"],
            env: { ...process.env, SANDSTORE_CLUSTER_TOKEN: token },
          });
          createInterface({ input: child.stdout! }).on("line", (text) => console.log(text));
          let stopping = false;
          const exited = new Promise<number | null>((r) =>
            child.once("exit", (status) => r(status)),
          );
          nodes.push({
            id,
            address,
            // A child that exits unasked has failed; its reason is on the shared stderr.
            failed: exited.then((status) =>
              stopping ? new Promise<Error>(() => {}) : new Error(`exited with status ${status}`),
            ),
            stop: async () => {
              stopping = true;
              child.kill("SIGTERM");
              await exited;
            },
          });
        };
        const group = topology.rolesPerNode
          ? members.filter((member) => member.roles.includes("metadata"))
          : members;
        const peers = group
          .map(
            (member) =>
              `${member.id}=${member.address}${member.clientAddress ? `/${member.clientAddress}` : ""}`,
          )
          .join(",");
        const metadata = group.map((member) => member.address).join(",");
        for (const member of members) {
          const roleArgs = !topology.rolesPerNode
            ? [
                ...["--peers", peers],
                ...(member.clientAddress ? ["--client-listen", member.clientAddress] : []),
              ]
            : member.roles.includes("metadata")
              ? ["--roles", "metadata", "--peers", peers]
              : ["--roles", "data", "--metadata", metadata];
          spawnNode(member.id, member.address, member.httpAddress, roleArgs);
        }
      }
      const seeds = nodes.map((node) => node.address).join(",");
      const tlsHint = flags.tls
        ? `\n  export SANDSTORE_TLS_CA=${join(tlsRoot, CA_FILES.cert)}   # the ports speak TLS` +
          `\n  export SANDSTORE_TLS_DIR=${join(tlsRoot, "operator")}   # for sandstore member`
        : "";
      const authHint =
        flags.auth === "required"
          ? `\n  export SANDSTORE_CLUSTER_TOKEN=$(cat ${resolve(flags.dataDir, "token")})   # the operator's, for sandstore user` +
            "\n  npx sandstore user add root --uid 0 --save && export SANDSTORE_USER=root   # clients must prove who they are"
          : "";
      const scheme = flags.tls ? "https" : "http";
      const header = `Sandstore is up: ${count} node${count > 1 ? "s" : ""}, topology ${flags.topology}, data in ${resolve(flags.dataDir)}${flags.tls ? ", TLS" : ""}`;
      const clientPorts = members.flatMap((member) =>
        member.clientAddress ? [member.clientAddress] : [],
      );
      const [firstClient, secondClient = firstClient] = clientPorts;
      if (topology.serves === "keys" && firstClient !== undefined)
        console.log(`
${header}
${members.map((member) => `  ${member.id}  raft ${member.address}  clients ${member.clientAddress}  http ${scheme}://${member.httpAddress}`).join("\n")}

Try, in another terminal:
  echo 'SET greeting hello world' | nc -N ${firstClient.replace(":", " ")}
  echo 'GET greeting' | nc -N ${(secondClient ?? firstClient).replace(":", " ")}
  npx sandstore kv get greeting --cluster ${clientPorts.join(",")}
Ctrl-C stops the cluster; starting it again with the same --data-dir keeps the data.
`);
      else
        console.log(`
${header}
${members.map((member) => `  ${member.id}  rpc ${member.address}  http ${scheme}://${member.httpAddress}`).join("\n")}

Try, in another terminal:
  export SANDSTORE_CLUSTER=${seeds}   # every node, so commands go around a dead one${tlsHint}${authHint}
  npx sandstore put README.md /readme.md
  npx sandstore ls -l /
  npx sandstore cat /readme.md
  npx sandstore status
  curl ${scheme}://${members[0]?.httpAddress}/api/v1/cluster/status   # the REST API (docs/http.md)
  curl ${scheme}://${members[0]?.httpAddress}/metrics                 # Prometheus metrics
Ctrl-C stops the cluster; starting it again with the same --data-dir keeps the data.
`);
      await runUntilStopped(nodes, (message) => console.log(message));
      // The nodes have stopped (and revoked their leases): their etcd goes last.
      await etcd?.stop();
    });

  withCluster(program.command("status"))
    .description("show the cluster: nodes, roles, indexes, chunks, the leader")
    .option("--json", "machine-readable output")
    .option("--hash", "also each node's metadata state hash (equal on nodes at one applied index)")
    .action(async (options: ClusterFlags & { json?: boolean; hash?: boolean }) => {
      await withClient(options, async (client) => {
        const status = await clusterStatus(
          client,
          (address) =>
            connect(address, { retryForMs: 0, callTimeoutMs: 2000, tlsCa: options.tlsCa }),
          { stateHash: options.hash ?? false },
        );
        if (options.json) {
          console.log(JSON.stringify(status));
          return;
        }
        console.log(
          `topology ${status.topology}, chunk size ${status.chunkSize} B, R=${status.replicationFactor}, W=${status.writeQuorum}, leader ${status.leaderId || "(none)"}`,
        );
        const rows = [
          [
            "ID",
            "ADDRESS",
            "ROLES",
            "ROLE",
            "TERM",
            "COMMIT",
            "APPLIED",
            "LIVE",
            "CHUNKS",
            "BYTES",
            "CLIENT-IN",
            "CLIENT-OUT",
          ],
        ];
        for (const n of status.nodes) {
          rows.push(
            [
              n.id,
              n.address,
              n.roles.join(",") || "-",
              n.role,
              n.term,
              n.commitIndex,
              n.appliedIndex,
              n.live ? "yes" : "no",
              n.chunkCount,
              n.chunkBytes,
              n.clientBytesWritten,
              n.clientBytesRead,
            ].map(String),
          );
        }
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
        for (const row of rows)
          console.log(
            row
              .map((cell, i) => cell.padEnd(widths[i]!))
              .join("  ")
              .trimEnd(),
          );
        for (const n of status.nodes) {
          if (n.stateHash) console.log(`${n.id} state hash ${n.stateHash}`);
          if (n.diskAlarm)
            console.log(
              `alarm on ${n.id}: NOSPACE, ${(n.diskFreeBytes / 1048576).toFixed(1)} MiB free of ${(n.diskTotalBytes / 1048576).toFixed(1)} MiB: writes are refused until files are removed`,
            );
          if (n.draining)
            console.log(`${n.id} is draining: it gets no new chunk (sandstore drain)`);
          if (n.membershipStale)
            console.log(
              `membership on ${n.id} is stale: its membership service (etcd) cannot be reached; it keeps its last view and declares no peer dead for it`,
            );
          const m = n.maintenance;
          if (!m?.active) continue;
          const repairState =
            m.repairPending > 0
              ? `repairing, ${m.repairPending} slots short of copies`
              : m.repairPasses > 0
                ? `last pass found ${m.underReplicated} slots short of copies`
                : "first pass under way";
          console.log(
            `maintenance on ${n.id}: repair ${repairState}, ${m.repairedTotal} repaired, ${m.repairFailuresTotal} failed, ${m.repairPasses} passes; ` +
              `garbage collection ${m.gcDeletedTotal} chunks deleted in ${m.gcPasses} passes; ${m.readRepairsTotal} read repairs`,
          );
          const unrecoverable =
            m.scrubUnrecoverable > 0
              ? `, ${m.scrubUnrecoverable} chunks with no good copy left (reads of them fail EIO)`
              : "";
          console.log(
            `scrub on ${n.id}: ${m.scrubCopiesTotal} copies (${(m.scrubBytesTotal / 1048576).toFixed(1)} MiB) verified in ${m.scrubPasses} passes, ${m.scrubDamagedTotal} damaged found${unrecoverable}`,
          );
        }
      });
    });
}

/**
 * Says in the log when this server process runs without NODE_RUNTIME_FLAGS: it works, but
 * moves file data at about half the speed (see runtime-flags.ts).
 */
function warnWithoutRuntimeFlags(logger: Logger): void {
  const missing = missingRuntimeFlags();
  if (missing.length > 0)
    logger.warn(
      { missing },
      `started without ${missing.join(" ")}: file data moves at about half the speed; start it as node ${NODE_RUNTIME_FLAGS.join(" ")} $(command -v sandstore) node ...`,
    );
}
