/**
 * The `single` topology: one process, no replication. Metadata in LMDB behind a local WAL,
 * chunks on the local disk, R = W = 1. The first thing a newcomer runs.
 *
 * This file is the one place that picks implementations; it reads in dependency order.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { DiskChunkStore } from "../chunks/disk-chunk-store.ts";
import { fsError } from "../common/errors.ts";
import { lockDirectory } from "../common/fs.ts";
import { checkDecidedSettings } from "../control/cluster-bootstrap.ts";
import { ReplicatedControlPlane } from "../control/replicated-control-plane.ts";
import { TwoPhaseCoordinator } from "../control/two-phase-coordinator.ts";
import { GarbageCollector } from "../data/garbage-collector.ts";
import { localReplicaAccess } from "../data/replica-access.ts";
import { ReplicatedDataPlane } from "../data/replicated-data-plane.ts";
import { ALL_ROLES } from "../membership/membership.ts";
import { StaticMembership } from "../membership/static-membership.ts";
import { settingsFor } from "../metadata/cluster-settings.ts";
import { LmdbMetadataStore } from "../metadata/lmdb-metadata-store.ts";
import { meteredFileService } from "../observability/metered-file-service.ts";
import { NodeMetrics } from "../observability/node-metrics.ts";
import { SortedPlacement } from "../placement/sorted-placement.ts";
import { LocalReplicator } from "../replication/local-replicator.ts";
import { ClientAuthenticator } from "../server/client-authenticator.ts";
import { NodeServer } from "../server/node-server.ts";
import { addAdminService } from "../transport/grpc-admin-service.ts";
import { GrpcTransport } from "../transport/grpc-transport.ts";
import { startDiskGuard } from "./disk-guard.ts";
import { fileNodeFigures, startNodeHttp } from "./node-http.ts";
import { nodePeerAuth, userSecretMaker } from "./peer-credentials.ts";
import type { NodeOptions, RunningNode } from "./topology.ts";
import { userAdmin } from "./user-admin-handlers.ts";

export async function startSingleNode(options: NodeOptions): Promise<RunningNode> {
  const { id, logger } = options;
  // Trust: operators manage users through the admin service, which answers only holders of
  // the cluster token or of a certificate from the cluster's CA; without either it is off.
  const operatorsAllowed = options.clusterToken !== undefined || options.tlsDir !== undefined;
  if (options.auth === "required" && !operatorsAllowed)
    throw new RangeError(
      "--auth required needs --cluster-token or --tls-dir: operators add users through the admin service they guard",
    );
  const auth = operatorsAllowed ? nodePeerAuth(id, "single", options) : undefined;
  await mkdir(options.dataDir, { recursive: true });
  const unlock = await lockDirectory(options.dataDir);
  // Disk: writes stop before it is full; a reserve lets the node start and delete when it is.
  const disk = await startDiskGuard(options.dataDir, options.diskReserveBytes, logger);

  // Metrics: counted by the transport and the file service, read from status per scrape.
  const metrics = new NodeMetrics({ nodeId: id, topology: "single", roles: ALL_ROLES });

  // Membership and transport: this node alone, speaking TLS when given a TLS directory.
  const transport = new GrpcTransport({
    server: auth?.serverCredentials(),
    traffic: metrics.traffic,
  });
  const membership = new StaticMembership(id, [{ id, address: options.listen, roles: ALL_ROLES }]);

  // Stores: the namespace and the chunks.
  const store = new LmdbMetadataStore({ path: join(options.dataDir, "metadata") });
  const chunks = await DiskChunkStore.open(join(options.dataDir, "chunks"), {
    onDamaged: (error) => {
      metrics.countDamagedCopy();
      logger.warn({ err: error }, "chunk copy failed its checksum");
    },
    admitWrite: (bytes, chunkId) => disk.space.admitWrite(bytes, `chunk ${chunkId}`),
  });

  // Replicator: a local WAL, replayed before anything is served.
  const replicator = new LocalReplicator({
    dir: options.dataDir,
    store,
    nodeId: id,
    onRecovery: (info) => logger.info(info, "metadata recovered from the WAL"),
  });
  await replicator.start();

  // Placement and control: one copy of each chunk. The settings are decided by the first
  // start, before anything is served; a later start with another chunk size refuses.
  const placement = new SortedPlacement();
  const control = new ReplicatedControlPlane({
    store,
    replicator,
    membership,
    placement,
    userSecret: userSecretMaker(options),
  });
  const requested = { chunkSize: options.chunkSize, replicationFactor: 1, writeQuorum: 1 };
  checkDecidedSettings(store.settings(), requested);
  const settings = await control.bootstrap(settingsFor(requested));
  const replicas = localReplicaAccess(id, chunks);
  const coordinator = new TwoPhaseCoordinator(control, replicas);
  const data = new ReplicatedDataPlane(control, coordinator, replicas);
  const gc = new GarbageCollector({
    replicas,
    nodes: () => [id],
    isWanted: async (nodeId, chunkId) =>
      (await control.chunkReplicas(chunkId))?.includes(nodeId) ?? false,
    isWriteInFlight: (chunkId) => data.isWriteInFlight(chunkId),
    graceMs: options.gcGraceMs ?? 600_000,
    intervalMs: options.gcIntervalMs ?? 60_000,
    onPass: (pass) =>
      pass.deleted + pass.failed > 0 && logger.info(pass, "garbage collection pass"),
    onError: (error) => logger.error({ err: error }, "garbage collection failed"),
  });

  // Server: clients, authenticated as `--auth` says; operators, behind the trust boundary.
  const authenticator = new ClientAuthenticator({
    mode: options.auth ?? "off",
    userByAccessKey: (accessKeyId) => control.userByAccessKey(accessKeyId),
  });
  // Known once the HTTP port opens, after the server starts answering status.
  let httpAddress = "";
  const server = new NodeServer({
    roles: ALL_ROLES,
    authenticator,
    space: disk.space,
    topology: "single",
    control,
    data,
    membership,
    chunkUsage: () => chunks.usage(),
    operationTotals: () => metrics.fileOperationTotals(),
    httpAddress: () => httpAddress,
    verifyCopy: (nodeId, chunkId, checksum) => replicas.verifyChunk(nodeId, chunkId, checksum),
  });
  const files = meteredFileService(server, metrics);
  const listener = await transport.listen(options.listen, files, (grpcServer) => {
    if (!auth) return;
    addAdminService(
      grpcServer,
      {
        state: () => {
          const status = replicator.status();
          return {
            id,
            role: status.role,
            term: status.term,
            leaderId: id,
            commitIndex: status.commitIndex,
            appliedIndex: status.appliedIndex,
            stateHash: store.stateHash(),
            voters: [id],
            learners: [],
          };
        },
        transferLeadership: () => false,
        changeMembership: async () => {
          throw fsError(
            "EINVAL",
            "",
            "the single topology has one member and no membership to change",
          );
        },
        users: userAdmin(control),
      },
      auth,
    );
  });
  const address = listener.address;
  membership.setSelfAddress(address);
  gc.start();

  // HTTP: metrics, health (one node is its own leader: always ready), the REST API.
  metrics.readFiguresFrom(fileNodeFigures({ status: () => server.status(), authenticator }));
  const stopParts = async () => {
    await listener.close();
    await gc.stop();
    await replicator.stop();
    await store.close();
    await chunks.close();
    await membership.close();
    await disk.stop();
    await unlock();
  };
  const http = await startNodeHttp({
    node: options,
    release: stopParts,
    metrics,
    readiness: async () => ({ ready: true, detail: "a single node leads itself" }),
    status: () => server.status(),
    files: { address, authenticator },
  });
  httpAddress = http?.address ?? "";
  logger.info({ address, dataDir: options.dataDir, ...settings }, "node serving");

  return {
    id,
    address,
    httpAddress: http?.address,
    // Its settings were checked before it served: nothing fails it later.
    failed: new Promise<Error>(() => {}),
    async stop() {
      await http?.close();
      await stopParts();
      logger.info("node stopped");
    },
  };
}
