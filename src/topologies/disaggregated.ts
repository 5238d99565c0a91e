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
import { ClusterBootstrap, checkDecidedSettings } from "../control/cluster-bootstrap.ts";
import { ReplicatedControlPlane } from "../control/replicated-control-plane.ts";
import { CapabilityIssuer, checkGraceCoversGrants } from "../data/capability-issuer.ts";
import { ChunkRepairer } from "../data/chunk-repairer.ts";
import { ChunkScrubber } from "../data/chunk-scrubber.ts";
import { DataServerReporter } from "../data/data-server-reporter.ts";
import { GarbageCollector } from "../data/garbage-collector.ts";
import { ReportedMembership } from "../membership/reported-membership.ts";
import { StaticMembership } from "../membership/static-membership.ts";
import { LmdbMetadataStore } from "../metadata/lmdb-metadata-store.ts";
import { RendezvousPlacement } from "../placement/rendezvous-placement.ts";
import { SortedPlacement } from "../placement/sorted-placement.ts";
import { DiskStorage } from "../raft/storage/disk-storage.ts";
import { RaftReplicator } from "../replication/raft-replicator.ts";
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
import { GrpcRaftTransport } from "../transport/grpc-raft-transport.ts";
import { GrpcTransport } from "../transport/grpc-transport.ts";
import { startDiskGuard } from "./disk-guard.ts";
import { nodePeerAuth } from "./peer-credentials.ts";
import { raftAdminHandlers } from "./raft-admin-handlers.ts";
import type { NodeOptions, RunningNode } from "./topology.ts";
import { userAdmin } from "./user-admin-handlers.ts";

const TOPOLOGY = "disaggregated";
/**
 * Reports a data server may miss before metadata servers think it dead: three, as the
 * static membership's probes.
 */
const MISSED_REPORTS = 3;

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

  // Membership: the metadata group as given, and the data servers that report to it.
  const membership = new ReportedMembership({
    selfId: id,
    metadataServers: peers,
    suspectAfterMs: MISSED_REPORTS * reportIntervalMs,
  });
  const addresses = new Map(peers.map((node) => [node.id, node.address]));

  // Store: the namespace and the chunk map, rebuilt from Raft's files after a crash.
  const store = new LmdbMetadataStore({
    path: join(options.dataDir, "metadata"),
    durability: "clean-close",
  });
  if (store.discardedAfterCrash)
    logger.info("metadata store not closed cleanly: rebuilding it from the Raft snapshot and log");
  const requested = {
    chunkSize: options.chunkSize,
    replicationFactor: options.replicationFactor,
    writeQuorum: options.writeQuorum,
  };
  try {
    checkDecidedSettings(store.settings(), requested);
  } catch (error) {
    await store.close();
    await disk.stop();
    await unlock();
    throw error;
  }

  // Replicator: a Raft group of the metadata servers over gRPC.
  const faults = options.faultFile ? watchFaultFile(options.faultFile) : undefined;
  let replicator: RaftReplicator | undefined;
  const raftTransport = new GrpcRaftTransport({
    selfId: id,
    listen: options.listen,
    peers: addresses,
    auth,
    faults,
    onMessage: (message) => replicator?.node.receive(message),
  });
  replicator = new RaftReplicator({
    id,
    store,
    tempDir: options.dataDir,
    storage: new DiskStorage({
      dir: join(options.dataDir, "raft"),
      initialConf: { voters: peers.map((n) => n.id), learners: [] },
    }),
    transport: raftTransport,
    addresses: (nodeId) => addresses.get(nodeId) ?? "",
    tickMs: options.tickMs ?? 50,
    snapshotEntries: options.snapshotEntries ?? 10_000,
    onTornTail: (file, bytes) =>
      logger.warn({ file, bytes }, "cut a damaged tail from the Raft log"),
  });

  // Placement and control: chunks go to live data servers with room, R copies, committed at W.
  const placement =
    options.placement === "rendezvous" ? new RendezvousPlacement() : new SortedPlacement();
  const control = new ReplicatedControlPlane({ store, replicator, membership, placement });
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
  const replicas = new GrpcReplicaAccess({
    addressOf: (nodeId) => membership.addressOf(nodeId),
    auth,
    faults,
  });
  const repairer = new ChunkRepairer({
    control,
    membership,
    replicas,
    placement,
    intervalMs: options.repairIntervalMs ?? 10_000,
    lostAfterMs: options.repairLostAfterMs ?? 300_000,
    bytesPerSecond: options.repairBytesPerSecond ?? 64 * 1024 * 1024,
    onError: (error) => logger.warn({ err: error }, "repair step failed"),
  });
  const scrubber = new ChunkScrubber({
    control,
    membership,
    replicas,
    repair: (inodeId, slot, states) => repairer.repairCopies(inodeId, slot, states),
    intervalMs: options.scrubIntervalMs ?? 86_400_000,
    bytesPerSecond: options.scrubBytesPerSecond ?? 16 * 1024 * 1024,
    onError: (error) => logger.warn({ err: error }, "scrub step failed"),
  });
  const gc = new GarbageCollector({
    replicas,
    nodes: () => membership.liveMembers("data").map((node) => node.id),
    isWanted: async (nodeId, chunkId) =>
      (await control.chunkReplicas(chunkId))?.includes(nodeId) ?? false,
    // A write this server granted may still be written and committed until its grant expires;
    // another server's grants cannot commit here (capability-issuer.ts).
    isWriteInFlight: (chunkId) => issuer.isWriteInFlight(chunkId),
    shouldRun: () => control.isCurrentLeader(),
    graceMs: gcGraceMs,
    intervalMs: options.gcIntervalMs ?? 60_000,
    onPass: (pass) =>
      pass.deleted + pass.failed > 0 && logger.info(pass, "garbage collection pass"),
    onError: (error) => logger.warn({ err: error }, "garbage collection step failed"),
  });

  // Server: clients' namespace calls and, for the five calls of the chunk path, their intents
  // and plans; behind the trust boundary, Raft, the metadata service for data servers, admin.
  const authenticator = new ClientAuthenticator({
    mode: options.auth ?? "off",
    userByAccessKey: (accessKeyId) => control.userByAccessKey(accessKeyId),
  });
  const server = new NodeServer({
    roles: ["metadata"],
    authenticator,
    space: disk.space,
    topology: TOPOLOGY,
    control,
    membership,
    chunkUsage: () => ({ chunks: 0, bytes: 0 }),
    maintenance: async () => {
      const repair = repairer.progress();
      const scrub = scrubber.progress();
      return {
        active: await control.isLeader(),
        repairPasses: repair.passes,
        underReplicated: repair.underReplicated,
        repairPending: repair.pending,
        repairedTotal: repair.repairedTotal,
        repairFailuresTotal: repair.failuresTotal,
        lastRepairPassMs: repair.lastPassMs,
        gcPasses: gc.passes,
        gcDeletedTotal: gc.deletedTotal,
        lastGcPassMs: gc.lastPassMs,
        readRepairsTotal: 0,
        scrubPasses: scrub.passes,
        scrubCopiesTotal: scrub.copiesTotal,
        scrubBytesTotal: scrub.bytesTotal,
        scrubDamagedTotal: scrub.damagedTotal,
        scrubUnrecoverable: scrub.unrecoverable,
        lastScrubPassMs: scrub.lastPassMs,
      };
    },
  });
  const transport = new GrpcTransport({ server: auth.serverCredentials(), channels: auth });
  const raft = replicator;
  const listener = await transport.listen(options.listen, server, (grpcServer) => {
    raftTransport.register(grpcServer);
    addMetadataService(grpcServer, control, auth, {
      clients: {
        identify: (call, path) => authenticator.identify(call, path),
        issuer,
        addressOf: (nodeId) => membership.addressOf(nodeId),
      },
      onDataServerReport: (report) => {
        membership.report(report);
        return { metadataId: id, key: issuer.key };
      },
    });
    addAdminService(
      grpcServer,
      raftAdminHandlers({
        id,
        node: () => raft.node,
        machine: store,
        peers: peers.map((node) => node.id),
        users: userAdmin(control),
      }),
      auth,
    );
  });
  await replicator.start();
  bootstrap.start();
  repairer.start();
  scrubber.start();
  gc.start();
  logger.info(
    { address: listener.address, metadataServers: peers.length },
    "metadata server serving",
  );

  return {
    id,
    address: listener.address,
    failed: failed.promise,
    async stop() {
      await listener.close();
      await bootstrap.stop();
      await scrubber.stop();
      await repairer.stop();
      await gc.stop();
      await raft.stop();
      await raftTransport.close();
      replicas.close();
      await membership.close();
      await store.close();
      await disk.stop();
      await unlock();
      logger.info("metadata server stopped");
    },
  };
}

async function startDataServer(options: NodeOptions): Promise<RunningNode> {
  const { id, logger } = options;
  const metadataServers = options.metadataServers ?? [];
  if (metadataServers.length === 0)
    throw new RangeError("a data server needs the metadata servers' addresses (--metadata)");
  const auth = nodePeerAuth(id, TOPOLOGY, options);
  await mkdir(options.dataDir, { recursive: true });
  const unlock = await lockDirectory(options.dataDir);
  const disk = await startDiskGuard(options.dataDir, options.diskReserveBytes, logger);

  // Store: this server's chunks.
  const chunks = await DiskChunkStore.open(join(options.dataDir, "chunks"), {
    onDamaged: (error) => logger.warn({ err: error }, "chunk copy failed its checksum"),
    admitWrite: (bytes, chunkId) => disk.space.admitWrite(bytes, `chunk ${chunkId}`),
  });

  // The metadata, in other processes: asked for clients' namespace calls and users.
  const control = new RemoteControlPlane({ addresses: metadataServers, auth });
  const membership = new StaticMembership(id, [{ id, address: options.listen, roles: ["data"] }]);

  // Reports: this server's address, disk and store to every metadata server, each second;
  // the answers carry the keys that client capabilities are checked against.
  const sender = new MetadataReportSender(auth);
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
    intervalMs: options.reportIntervalMs ?? 1000,
    onError: (error) => logger.debug({ err: error }, "report to a metadata server failed"),
  });

  // Server: chunks for the metadata leader (repair, GC) and for clients holding capabilities.
  const faults = options.faultFile ? watchFaultFile(options.faultFile) : undefined;
  const clientBytes = new ClientBytes();
  const authenticator = new ClientAuthenticator({
    mode: options.auth ?? "off",
    userByAccessKey: (accessKeyId) => control.userByAccessKey(accessKeyId),
  });
  const server = new NodeServer({
    roles: ["data"],
    authenticator,
    space: disk.space,
    topology: TOPOLOGY,
    control,
    membership,
    chunkUsage: () => chunks.usage(),
    otherClientBytes: () => ({ written: clientBytes.writtenTotal, read: clientBytes.readTotal }),
  });
  const transport = new GrpcTransport({ server: auth.serverCredentials(), channels: auth });
  const listener = await transport.listen(options.listen, server, (grpcServer) => {
    addChunkService(grpcServer, chunks, auth, faults, {
      checkCapability: (capability, chunkId, operation) =>
        reporter.checkCapability(capability, chunkId, operation),
      counters: clientBytes,
    });
  });
  const { address } = listener;
  reporter.start(address);
  logger.info({ address, metadataServers }, "data server serving");
  // A data server takes its settings from the metadata as it goes; it has no flags to refuse.
  const neverFails = deferred<Error>();

  return {
    id,
    address,
    failed: neverFails.promise,
    async stop() {
      await listener.close();
      await reporter.stop();
      sender.close();
      control.close();
      await membership.close();
      await chunks.close();
      await disk.stop();
      await unlock();
      logger.info("data server stopped");
    },
  };
}
