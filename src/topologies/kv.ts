/**
 * The `kv` topology: the Raft library with a key-value state machine and the plaintext TCP
 * protocol, compatible with TitanStore. The same consensus library as the file store, another
 * state machine and front end: topology is a variable.
 *
 * This file is the one place that picks implementations; it reads in dependency order.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { lockDirectory } from "../common/fs.ts";
import { NodeStatus } from "../gen/sandstore/v1/file_service.ts";
import { KvServer } from "../kv/kv-server.ts";
import { LmdbKvStateMachine } from "../kv/kv-state-machine.ts";
import type { Logger } from "../observability/logger.ts";
import { NodeMetrics } from "../observability/node-metrics.ts";
import { RaftNode } from "../raft/node.ts";
import { DiskStorage } from "../raft/storage/disk-storage.ts";
import { type FaultLayer, watchFaultFile } from "../transport/fault-file.ts";
import { addAdminService } from "../transport/grpc-admin-service.ts";
import { GrpcRaftTransport } from "../transport/grpc-raft-transport.ts";
import { raftReadiness, startNodeHttp } from "./node-http.ts";
import { type CredentialOptions, nodePeerAuth } from "./peer-credentials.ts";
import { raftAdminHandlers } from "./raft-admin-handlers.ts";
import type { BrokenRule, NodeOptions, RunningNode } from "./topology.ts";

/** Another member of a key-value cluster: where its Raft port and its client port are. */
export interface KvMember {
  readonly id: string;
  /** Its Raft (internal gRPC) port, `host:port`. */
  readonly raftAddress: string;
  /** Its plaintext client port, `host:port`: what a NOT_LEADER reply names. */
  readonly clientAddress: string;
}

export interface KvNodeOptions extends CredentialOptions {
  readonly id: string;
  /** `host:port` of the Raft port (gRPC: Raft and admin, for the cluster's nodes); port 0 picks one. */
  readonly raftListen: string;
  /** `host:port` of the plaintext client port; port 0 picks one. */
  readonly clientListen: string;
  /** The client address this node gives out in NOT_LEADER replies. */
  readonly advertiseClientAddr: string;
  /** The other members; this node is not among them. */
  readonly peers: readonly KvMember[];
  readonly dataDir: string;
  readonly logger: Logger;
  /** A JSON file naming peers to cut off (tests and chaos runs only). */
  readonly faultFile?: string;
  /** Snapshot after this many applied entries. Default 10,000. */
  readonly snapshotEntries?: number;
  /** Milliseconds per Raft tick (elections after 10 to 20 ticks). Default 50. */
  readonly tickMs?: number;
  /** A rule to break on purpose; for the chaos tests only. */
  readonly brokenRule?: BrokenRule;
  /** `host:port` of the HTTP port (metrics, health, cluster status); none when absent. */
  readonly httpListen?: string;
}

export interface RunningKvNode {
  readonly id: string;
  readonly raftAddress: string;
  readonly clientAddress: string;
  readonly httpAddress?: string;
  stop(): Promise<void>;
}

/**
 * Starts a key-value node from the options every topology takes (`sandstore node --topology
 * kv`): `listen` is its Raft port, `clientListen` its plaintext port, and each peer names
 * both (`NodeInfo.clientAddress`). Throws a RangeError naming what is missing.
 */
export async function startKvTopologyNode(o: NodeOptions): Promise<RunningNode> {
  if (o.clientListen === undefined)
    throw new RangeError("a key-value node needs a client address (--client-listen host:port)");
  const peers = (o.peers ?? [])
    .filter((peer) => peer.id !== o.id)
    .map((peer) => {
      if (peer.clientAddress === undefined)
        throw new RangeError(
          `peer ${peer.id} has no client address: a key-value peer is id=host:port/host:clientPort`,
        );
      return { id: peer.id, raftAddress: peer.address, clientAddress: peer.clientAddress };
    });
  const self = o.peers?.find((peer) => peer.id === o.id);
  const node = await startKvNode({
    id: o.id,
    raftListen: o.listen,
    clientListen: o.clientListen,
    advertiseClientAddr: self?.clientAddress ?? advertised(o.clientListen),
    peers,
    dataDir: o.dataDir,
    logger: o.logger,
    faultFile: o.faultFile,
    snapshotEntries: o.snapshotEntries,
    tickMs: o.tickMs,
    clusterToken: o.clusterToken,
    tlsDir: o.tlsDir,
    brokenRule: o.brokenRule,
    httpListen: o.http,
  });
  return {
    id: node.id,
    address: node.raftAddress,
    clientAddress: node.clientAddress,
    httpAddress: node.httpAddress,
    // A key-value node has no decided settings to disagree with.
    failed: new Promise<Error>(() => {}),
    stop: () => node.stop(),
  };
}

/** The address to give out for a listen address: a wildcard host becomes the loopback one. */
function advertised(listen: string): string {
  const { host, port } = splitHostPort(listen);
  return `${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
}

/** Splits `host:port` (IPv6 hosts in brackets); the caller has checked its shape. */
function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  return {
    host: address.slice(0, colon).replace(/^\[(.*)\]$/, "$1"),
    port: Number(address.slice(colon + 1)),
  };
}

export async function startKvNode(o: KvNodeOptions): Promise<RunningKvNode> {
  // Trust: the Raft port answers only the cluster's nodes (the token or mutual TLS).
  const auth = nodePeerAuth(o.id, "kv", o);
  await mkdir(o.dataDir, { recursive: true });
  const unlock = await lockDirectory(o.dataDir);
  // Metrics: counted by the transport and Raft, read from Raft's status per scrape.
  const metrics = new NodeMetrics({ nodeId: o.id, topology: "kv", roles: [] });

  // Membership: this node and its peers, fixed at start.
  const voters = [o.id, ...o.peers.map((p) => p.id)].sort();
  const raftAddresses = new Map(o.peers.map((p) => [p.id, p.raftAddress]));
  const clientAddresses = new Map(o.peers.map((p) => [p.id, p.clientAddress]));
  clientAddresses.set(o.id, o.advertiseClientAddr);

  // Stores: the Raft log and snapshots, the key-value state machine.
  const storage = new DiskStorage({
    dir: join(o.dataDir, "raft"),
    initialConf: { voters, learners: [] },
  });
  const machine = new LmdbKvStateMachine(o.dataDir);

  // Transport, with the fault layer when asked for. The node below subscribes to it when it
  // starts (`RaftTransport.receive`).
  const faults: FaultLayer | undefined = o.faultFile ? watchFaultFile(o.faultFile) : undefined;
  const transport = new GrpcRaftTransport({
    selfId: o.id,
    listen: o.raftListen,
    addressOf: (id) => raftAddresses.get(id),
    auth,
    faults,
    traffic: metrics.traffic,
  });

  // Consensus.
  const node = new RaftNode({
    id: o.id,
    storage,
    transport,
    stateMachine: machine,
    addresses: (id) => clientAddresses.get(id) ?? "",
    tickMs: o.tickMs ?? 50,
    snapshotEntries: o.snapshotEntries ?? 10_000,
    // A client of a cut-off node hears ERR TIMEOUT after this, instead of waiting long.
    timeoutMs: 5000,
    onTornTail: (file, bytes) =>
      o.logger.warn({ file, bytes }, "cut a damaged tail from the Raft log"),
    observer: metrics.raftObserver,
  });
  await transport.listen((server) =>
    addAdminService(
      server,
      raftAdminHandlers({ id: o.id, node: () => node, machine, peers: voters }),
      auth,
    ),
  );
  await node.start();

  // Front end.
  // The chaos tests' broken build: reads answered from local state with no read barrier, a
  // rule the checker must catch (docs/testing.md).
  const brokenReads = o.brokenRule === "reads-without-readindex";
  if (brokenReads)
    o.logger.warn("broken rule reads-without-readindex: reads skip the read barrier");
  const client = splitHostPort(o.clientListen);
  const server = new KvServer({
    host: client.host,
    port: client.port,
    replica: brokenReads
      ? {
          propose: (data) => node.propose(data),
          readBarrier: async () => {},
          status: () => node.status(),
        }
      : node,
    read: (key) => machine.get(key),
    clientAddressOf: (id) => clientAddresses.get(id),
    logger: o.logger,
  });
  await server.listen();

  // HTTP: metrics, health and readiness, and the group's status (no file routes).
  const raftFigures = () => {
    const status = node.status();
    return {
      role: status.role === "preCandidate" ? "candidate" : status.role,
      term: status.term,
      leaderId: status.lead,
      commitIndex: status.commit,
      appliedIndex: machine.appliedIndex(),
    };
  };
  metrics.readFiguresFrom(async () => ({
    raft: { ...raftFigures(), pendingProposals: node.pendingProposals },
  }));
  const stopParts = async () => {
    await server.close();
    await node.stop();
    await transport.close();
    await machine.close();
    await unlock();
  };
  const http = await startNodeHttp({
    node: { id: o.id, http: o.httpListen, tlsDir: o.tlsDir, logger: o.logger },
    release: stopParts,
    metrics,
    readiness: raftReadiness(node),
    status: async () => {
      const figures = raftFigures();
      const blank = NodeStatus.decode(new Uint8Array());
      return {
        nodes: [
          {
            ...blank,
            id: o.id,
            address: server.address,
            role: figures.role,
            term: figures.term,
            commitIndex: figures.commitIndex,
            appliedIndex: figures.appliedIndex,
            live: true,
            memberLive: true,
          },
          ...o.peers.map((peer) => ({
            ...blank,
            id: peer.id,
            address: peer.clientAddress,
            role: "unknown",
          })),
        ],
        leaderId: figures.leaderId,
        topology: "kv",
        chunkSize: 0,
        replicationFactor: 0,
        writeQuorum: 0,
      };
    },
  });
  o.logger.info(
    { raft: transport.address, client: server.address, peers: o.peers.length },
    "key-value node serving",
  );

  return {
    id: o.id,
    raftAddress: transport.address,
    clientAddress: server.address,
    httpAddress: http?.address,
    async stop() {
      await http?.close();
      await stopParts();
      o.logger.info("key-value node stopped");
    },
  };
}
