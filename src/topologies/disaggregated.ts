/**
 * The `disaggregated` topology, as GFS, HDFS and MooseFS are built: M metadata servers (1, 3
 * or 5) form one Raft group that holds the namespace and the chunk map and no chunk bytes; D
 * data servers hold the chunks. Data servers report to every metadata server each second
 * (their address, disk and chunk store), and learn each one's capability key from the
 * answer. A client asks the metadata leader for write intents and read plans, which carry
 * capabilities signed for each chunk, and moves the bytes to and from the data servers
 * itself: no file byte passes through a metadata server. Repair, scrub and garbage
 * collection run on the metadata leader against the data servers.
 *
 * Two wiring functions, one per role; each reads in dependency order.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { DiskChunkStore } from "../chunks/disk-chunk-store.ts";
import { deferred } from "../common/deferred.ts";
import { lockDirectory } from "../common/fs.ts";
import { ClusterBootstrap } from "../control/cluster-bootstrap.ts";
import { ReplicatedControlPlane } from "../control/replicated-control-plane.ts";
import { CapabilityIssuer, checkGraceCoversGrants } from "../data/capability-issuer.ts";
import { DataServerReporter } from "../data/data-server-reporter.ts";
import { DataServerMembership } from "../membership/data-server-membership.ts";
import type { Membership } from "../membership/membership.ts";
import { ReportedMembership } from "../membership/reported-membership.ts";
import { meteredFileService } from "../observability/metered-file-service.ts";
import { NodeEvents, recordingElections, watchMembership } from "../observability/node-events.ts";
import { NodeMetrics } from "../observability/node-metrics.ts";
import { RendezvousPlacement } from "../placement/rendezvous-placement.ts";
import { SortedPlacement } from "../placement/sorted-placement.ts";
import { ClientAuthenticator } from "../server/client-authenticator.ts";
import { NodeServer } from "../server/node-server.ts";
import { watchFaultFile } from "../transport/fault-file.ts";
import { addAdminService } from "../transport/grpc-admin-service.ts";
import {
  addChunkService,
  ClientBytes,
  GrpcReplicaAccess,
} from "../transport/grpc-chunk-service.ts";
import {
  addMetadataService,
  MetadataReportSender,
  RemoteControlPlane,
} from "../transport/grpc-metadata-service.ts";
import { GrpcTransport } from "../transport/grpc-transport.ts";
import { dataServerAdmin } from "./data-server-admin-handlers.ts";
import { startDiskGuard } from "./disk-guard.ts";
import { etcdRegistration, startRegistration } from "./etcd-registration.ts";
import { leaderMaintenance } from "./leader-maintenance.ts";
import { metadataRaft, openGroupStore } from "./metadata-group.ts";
import { fileNodeFigures, raftReadiness, startNodeHttp } from "./node-http.ts";
import { nodePeerAuth, userSecretMaker } from "./peer-credentials.ts";
import { raftAdminHandlers } from "./raft-admin-handlers.ts";
import type { NodeOptions, RunningNode } from "./topology.ts";
import { userAdmin } from "./user-admin-handlers.ts";

const TOPOLOGY = "disaggregated";
/**
 * Reports a data server may miss before metadata servers think it dead: three, as the
 * static membership's probes.
 */
const MISSED_REPORTS = 3;
/**
 * Time between a data server's chunk inventories, ms, unless told: often enough that garbage
 * collection and repair see a listing at most seconds old, and one inventory of 100,000
 * chunks (about 5 MB) every 10 s costs a metadata server little.
 */
const DEFAULT_INVENTORY_INTERVAL_MS = 10_000;
/** Deadline of one inventory: a million chunks is about a thousand pages. */
const INVENTORY_TIMEOUT_MS = 60_000;

/** Starts one node: a metadata server when its roles include `metadata`, else a data server. */
export function startDisaggregatedNode(options: NodeOptions): Promise<RunningNode> {
  const roles = options.roles ?? ["metadata"];
  if (roles.includes("metadata") && roles.includes("data"))
    throw new RangeError(
      "a disaggregated node is a metadata server or a data server, not both (that is hyperconverged)",
    );
  return roles.includes("metadata") ? startMetadataServer(options) : startDataServer(options);
}

async function startMetadataServer(options: NodeOptions): Promise<RunningNode> {
  const { id, logger } = options;
  const peers = options.peers ?? [{ id, address: options.listen }];
  const reportIntervalMs = options.reportIntervalMs ?? 1000;
  const capabilityLifetimeMs = options.capabilityLifetimeMs ?? 120_000;
  const gcGraceMs = options.gcGraceMs ?? 600_000;
  checkGraceCoversGrants(gcGraceMs, capabilityLifetimeMs);
  // Trust: how this server proves itself to its peers and checks who calls its internal services.
  const auth = nodePeerAuth(id, TOPOLOGY, options);
  await mkdir(options.dataDir, { recursive: true });
  const unlock = await lockDirectory(options.dataDir);
  const disk = await startDiskGuard(options.dataDir, options.diskReserveBytes, logger);
  // Metrics: counted by the transport, Raft and the file service, read from status per scrape.
  const metrics = new NodeMetrics({ nodeId: id, topology: TOPOLOGY, roles: ["metadata"] });
  // Events: the elections, repairs, scrub findings and membership changes this server saw.
  const events = new NodeEvents();

  // Membership: the metadata group as given, and the data servers that report to it. On etcd,
  // which data servers exist and live is etcd's registrations and leases; the reports still
  // carry the capability keys back and bring the inventories.
  //
  // Metadata servers added since start (`sandstore member add`) have their addresses recorded
  // in the metadata, which is read once the store is open.
  let recordedAddress: (nodeId: string) => string | undefined = () => undefined;
  const reported = new ReportedMembership({
    selfId: id,
    metadataServers: peers,
    suspectAfterMs: MISSED_REPORTS * reportIntervalMs,
  });
  const etcd = options.etcd
    ? etcdRegistration({
        options,
        self: { id, address: options.listen, roles: ["metadata"] },
        disk,
        // The metadata group is --peers and the members added to it; any other id is a data
        // server's, with that role only.
        accept: (member) =>
          member.roles.length === 1 &&
          (member.roles[0] === "metadata") ===
            (peers.some((node) => node.id === member.id) ||
              recordedAddress(member.id) !== undefined),
        logger,
      })
    : undefined;
  if (etcd)
    await startRegistration(etcd, async () => {
      await disk.stop();
      await unlock();
    });
  const membership: Membership = etcd ?? reported;
  const addressOf = (nodeId: string) =>
    reported.addressOf(nodeId) ?? recordedAddress(nodeId) ?? etcd?.addressOf(nodeId);

  // Store: the namespace and the chunk map (refusing flags that disagree with the decided
  // settings); a Raft group of the metadata servers over gRPC.
  const { store, requested } = await openGroupStore(options, logger, async () => {
    await disk.stop();
    await unlock();
  });
  recordedAddress = (nodeId) => store.memberAddress(nodeId);
  const faults = options.faultFile ? watchFaultFile(options.faultFile) : undefined;
  const { replicator, raftTransport } = metadataRaft({
    id,
    group: peers,
    store,
    options,
    auth,
    faults,
    logger,
    addressOf: (nodeId) => etcd?.addressOf(nodeId),
    observer: recordingElections(metrics.raftObserver, events),
  });

  // Placement and control: chunks go to live data servers with room, R copies, committed at W.
  const placement =
    options.placement === "rendezvous" ? new RendezvousPlacement() : new SortedPlacement();
  const control = new ReplicatedControlPlane({
    store,
    replicator,
    membership,
    placement,
    userSecret: userSecretMaker(options),
  });
  const failed = deferred<Error>();
  const bootstrap = new ClusterBootstrap({
    control,
    requested,
    onConflict: (error) => {
      logger.error({ err: error }, "refusing to run");
      failed.resolve(error);
    },
    onError: (error) => logger.warn({ err: error }, "bootstrap step failed"),
  });

  // Capabilities: this server's own key, and the writes it granted until they expire.
  const issuer = new CapabilityIssuer({ issuerId: id, lifetimeMs: capabilityLifetimeMs });

  // Maintenance, on the leader only, against the data servers: repair, scrub, then GC.
  // Listings come from the data servers' block reports while those are fresh.
  const inventoryMaxAgeMs = 3 * (options.inventoryIntervalMs ?? DEFAULT_INVENTORY_INTERVAL_MS);
  const replicas = new GrpcReplicaAccess({
    addressOf,
    auth,
    faults,
    listings: (nodeId) => reported.inventoryOf(nodeId, inventoryMaxAgeMs),
  });
  const maintenance = leaderMaintenance({
    control,
    membership,
    replicas,
    placement,
    options: { ...options, gcGraceMs },
    logger,
    // A write this server granted may still be written and committed until its grant
    // expires; another server's grants are covered by the grace period (capability-issuer.ts).
    isWriteInFlight: (chunkId) => issuer.isWriteInFlight(chunkId),
    // Clients read the data servers themselves: no read here finds a damaged copy.
    readRepairsTotal: () => 0,
    draining: () => control.drainingNodes(),
    events,
  });

  // Server: clients' namespace calls and, for the five calls of the chunk path, their intents
  // and plans; behind the trust boundary, Raft, the metadata service for data servers, admin.
  const authenticator = new ClientAuthenticator({
    mode: options.auth ?? "off",
    userByAccessKey: (accessKeyId) => control.userByAccessKey(accessKeyId),
  });
  // Known once the HTTP port opens, after the server starts answering status.
  let httpAddress = "";
  const server = new NodeServer({
    roles: ["metadata"],
    authenticator,
    space: disk.space,
    topology: TOPOLOGY,
    control,
    membership,
    chunkUsage: () => ({ chunks: 0, bytes: 0 }),
    operationTotals: () => metrics.fileOperationTotals(),
    httpAddress: () => httpAddress,
    maintenance: () => maintenance.status(),
    drainingNodes: () => control.drainingNodes(),
    events: () => events.recent(),
    verifyCopy: (nodeId, chunkId, checksum) => replicas.verifyChunk(nodeId, chunkId, checksum),
  });
  const transport = new GrpcTransport({
    server: auth.serverCredentials(),
    channels: auth,
    traffic: metrics.traffic,
  });
  const files = meteredFileService(server, metrics);
  const listener = await transport.listen(options.listen, files, (grpcServer) => {
    raftTransport.register(grpcServer);
    addMetadataService(grpcServer, control, auth, {
      clients: {
        identify: (call, path) => authenticator.identify(call, path),
        issuer,
        addressOf,
      },
      onDataServerReport: (report) => {
        reported.report(report);
        const group = [
          ...peers.map((node) => node.address),
          ...store.memberAddresses().map((member) => member.address),
        ];
        return { metadataId: id, key: issuer.key, metadataServers: [...new Set(group)] };
      },
      onChunkInventory: (dataServerId, chunks) => reported.recordInventory(dataServerId, chunks),
    });
    addAdminService(
      grpcServer,
      raftAdminHandlers({
        id,
        node: () => replicator.node,
        machine: store,
        peers: peers.map((node) => node.id),
        addressOf,
        recordAddress: (nodeId, address) => control.recordMemberAddress(nodeId, address),
        users: userAdmin(control),
        dataServers: dataServerAdmin(control, membership, maintenance),
      }),
      auth,
    );
  });
  await replicator.start();
  bootstrap.start();
  maintenance.start();
  const memberWatch = watchMembership(events, membership, () => replicator.node.status().conf);

  // HTTP: metrics, health and readiness, and the REST API over a client of this server.
  metrics.readFiguresFrom(
    fileNodeFigures({
      status: () => server.status(),
      authenticator,
      pendingProposals: () => replicator.node.pendingProposals,
    }),
  );
  const stopParts = async () => {
    await listener.close();
    await bootstrap.stop();
    await maintenance.stop();
    await memberWatch.stop();
    await replicator.stop();
    await raftTransport.close();
    replicas.close();
    await etcd?.close();
    await reported.close();
    await store.close();
    await disk.stop();
    await unlock();
  };
  const http = await startNodeHttp({
    node: options,
    release: stopParts,
    metrics,
    readiness: raftReadiness(replicator.node),
    status: () => server.status(),
    files: { address: listener.address, authenticator, peerAuth: auth },
  });
  httpAddress = http?.address ?? "";
  logger.info(
    { address: listener.address, metadataServers: peers.length },
    "metadata server serving",
  );

  return {
    id,
    address: listener.address,
    httpAddress: http?.address,
    failed: failed.promise,
    async stop() {
      await http?.close();
      await stopParts();
      logger.info("metadata server stopped");
    },
  };
}

async function startDataServer(options: NodeOptions): Promise<RunningNode> {
  const { id, logger } = options;
  const given = options.metadataServers ?? [];
  if (given.length === 0 && !options.etcd)
    throw new RangeError(
      "a data server needs the metadata servers' addresses (--metadata) or etcd membership",
    );
  const auth = nodePeerAuth(id, TOPOLOGY, options);
  await mkdir(options.dataDir, { recursive: true });
  const unlock = await lockDirectory(options.dataDir);
  const disk = await startDiskGuard(options.dataDir, options.diskReserveBytes, logger);
  // Metrics: counted by the transport and the chunk store, read from status per scrape.
  const metrics = new NodeMetrics({
    nodeId: id,
    topology: TOPOLOGY,
    roles: ["data"],
    raftMember: false,
  });

  // Store: this server's chunks.
  const chunks = await DiskChunkStore.open(join(options.dataDir, "chunks"), {
    onDamaged: (error) => {
      metrics.countDamagedCopy();
      logger.warn({ err: error }, "chunk copy failed its checksum");
    },
    admitWrite: (bytes, chunkId) => disk.space.admitWrite(bytes, `chunk ${chunkId}`),
  });

  // Membership on etcd: this server registers there (metadata servers read its liveness and
  // free bytes from its lease and registration) and learns the metadata servers from it.
  const etcd = options.etcd
    ? etcdRegistration({
        options,
        self: { id, address: options.listen, roles: ["data"] },
        disk,
        accept: (member) => member.roles.length === 1,
        logger,
      })
    : undefined;
  // The metadata servers: those given, those their answers list (a server added to the group
  // since), and on etcd those registered and live.
  const metadataServers = (): string[] => [
    ...new Set([
      ...given,
      ...reporter.metadataServersListed(),
      ...(etcd?.liveMembers("metadata").map((node) => node.address) ?? []),
    ]),
  ];

  // The metadata, in other processes: asked for clients' namespace calls and users.
  const control = new RemoteControlPlane({ addresses: metadataServers, auth });

  // Reports: this server's address, disk and store to every metadata server, each second;
  // the answers carry the keys that client capabilities are checked against. Its chunk
  // inventory goes to each of them every few seconds (block reports).
  const sender = new MetadataReportSender(auth);
  const reportIntervalMs = options.reportIntervalMs ?? 1000;
  const reporter = new DataServerReporter({
    metadataServers,
    report: (address) => {
      const usage = chunks.usage();
      const space = disk.space.status();
      return {
        id,
        address,
        freeBytes: space.freeBytes,
        totalBytes: space.totalBytes,
        chunkCount: usage.chunks,
        chunkBytes: usage.bytes,
      };
    },
    send: (to, report) => sender.send(to, report),
    intervalMs: reportIntervalMs,
    inventory: {
      list: () => chunks.listChunks(),
      send: (to, list) => sender.sendInventory(to, list, INVENTORY_TIMEOUT_MS),
      intervalMs: options.inventoryIntervalMs ?? DEFAULT_INVENTORY_INTERVAL_MS,
    },
    onError: (error) => logger.debug({ err: error }, "report to a metadata server failed"),
  });
  // Membership, for status: this server and the metadata servers that answer its reports (or,
  // on etcd, every member registered), so a client that reaches a data server first learns
  // where the metadata servers are.
  const membership: Membership =
    etcd ??
    new DataServerMembership({
      self: { id, address: options.listen },
      metadataServers: () => reporter.metadataServersHeard(MISSED_REPORTS * reportIntervalMs),
    });

  // Server: chunks for the metadata leader (repair, GC) and for clients holding capabilities.
  const faults = options.faultFile ? watchFaultFile(options.faultFile) : undefined;
  const clientBytes = new ClientBytes();
  const authenticator = new ClientAuthenticator({
    mode: options.auth ?? "off",
    userByAccessKey: (accessKeyId) => control.userByAccessKey(accessKeyId),
  });
  // Known once the HTTP port opens, after the server starts answering status.
  let httpAddress = "";
  const server = new NodeServer({
    roles: ["data"],
    authenticator,
    space: disk.space,
    topology: TOPOLOGY,
    control,
    membership,
    chunkUsage: () => chunks.usage(),
    operationTotals: () => metrics.fileOperationTotals(),
    httpAddress: () => httpAddress,
    otherClientBytes: () => ({ written: clientBytes.writtenTotal, read: clientBytes.readTotal }),
  });
  const transport = new GrpcTransport({
    server: auth.serverCredentials(),
    channels: auth,
    traffic: metrics.traffic,
  });
  const files = meteredFileService(server, metrics);
  const listener = await transport.listen(options.listen, files, (grpcServer) => {
    addChunkService(grpcServer, chunks, auth, faults, {
      checkCapability: (capability, chunkId, operation) =>
        reporter.checkCapability(capability, chunkId, operation),
      counters: clientBytes,
    });
  });
  const { address } = listener;
  if (etcd)
    await startRegistration(
      etcd,
      async () => {
        await listener.close();
        control.close();
        sender.close();
        await chunks.close();
        await disk.stop();
        await unlock();
      },
      address,
    );
  reporter.start(address);

  // HTTP: metrics, health and readiness (a metadata server took a report lately), and the
  // REST API over a client of this server.
  metrics.readFiguresFrom(fileNodeFigures({ status: () => server.status(), authenticator }));
  const heardWithinMs = MISSED_REPORTS * reportIntervalMs;
  const stopParts = async () => {
    await listener.close();
    await reporter.stop();
    sender.close();
    control.close();
    await membership.close();
    await chunks.close();
    await disk.stop();
    await unlock();
  };
  const http = await startNodeHttp({
    node: options,
    release: stopParts,
    metrics,
    readiness: async () => {
      const heard = reporter.metadataServersHeard(heardWithinMs);
      return heard.length > 0
        ? { ready: true, detail: `reporting to ${heard.map((node) => node.id).join(", ")}` }
        : { ready: false, detail: `no metadata server took a report in ${heardWithinMs} ms` };
    },
    status: () => server.status(),
    files: { address, authenticator, peerAuth: auth },
  });
  httpAddress = http?.address ?? "";
  logger.info({ address, metadataServers: metadataServers() }, "data server serving");
  // A data server takes its settings from the metadata as it goes; it has no flags to refuse.
  const neverFails = deferred<Error>();

  return {
    id,
    address,
    httpAddress: http?.address,
    failed: neverFails.promise,
    async stop() {
      await http?.close();
      await stopParts();
      logger.info("data server stopped");
    },
  };
}
