/**
 * The `hyperconverged` topology: every node runs the control plane and the data plane; the
 * metadata is one Raft group of all nodes; chunks are written to R nodes and committed once W
 * are durable. One gRPC port per node serves clients (FileService) and, behind the trust
 * boundary (the cluster token or mutual TLS), the other nodes (Raft, chunk replicas, admin).
 *
 * This file is the one place that picks implementations; it reads in dependency order.
 */

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { DiskChunkStore } from "../chunks/disk-chunk-store.ts";
import { deferred } from "../common/deferred.ts";
import { UnavailableError } from "../common/errors.ts";
import { lockDirectory } from "../common/fs.ts";
import { ClusterBootstrap } from "../control/cluster-bootstrap.ts";
import { ReplicatedControlPlane } from "../control/replicated-control-plane.ts";
import { TwoPhaseCoordinator } from "../control/two-phase-coordinator.ts";
import { ReplicatedDataPlane } from "../data/replicated-data-plane.ts";
import type { EtcdMembership } from "../membership/etcd-membership.ts";
import {
  ALL_ROLES,
  type MemberSpec,
  type Membership,
  type NodeInfo,
} from "../membership/membership.ts";
import { StaticMembership } from "../membership/static-membership.ts";
import { meteredFileService } from "../observability/metered-file-service.ts";
import { NodeEvents, recordingElections, watchMembership } from "../observability/node-events.ts";
import { NodeMetrics } from "../observability/node-metrics.ts";
import { RendezvousPlacement } from "../placement/rendezvous-placement.ts";
import { SortedPlacement } from "../placement/sorted-placement.ts";
import { ClientAuthenticator } from "../server/client-authenticator.ts";
import { NodeServer } from "../server/node-server.ts";
import { watchFaultFile } from "../transport/fault-file.ts";
import { addAdminService } from "../transport/grpc-admin-service.ts";
import { addChunkService, GrpcReplicaAccess } from "../transport/grpc-chunk-service.ts";
import { addMetadataService } from "../transport/grpc-metadata-service.ts";
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

export async function startHyperconvergedNode(options: NodeOptions): Promise<RunningNode> {
  const { id, logger } = options;
  const peers = options.peers ?? [{ id, address: options.listen }];
  // Trust: how this node proves itself to its peers and checks who calls its internal services.
  const auth = nodePeerAuth(id, "hyperconverged", options);
  await mkdir(options.dataDir, { recursive: true });
  const unlock = await lockDirectory(options.dataDir);
  // Disk: writes stop before it is full; a reserve lets the node start and delete when it is.
  const disk = await startDiskGuard(options.dataDir, options.diskReserveBytes, logger);

  // Metrics: counted by the transport, Raft and the file service as they work, and read from
  // the node's status at each scrape.
  const metrics = new NodeMetrics({ nodeId: id, topology: "hyperconverged", roles: ALL_ROLES });
  // Events: the elections, repairs, scrub findings and membership changes this node saw.
  const events = new NodeEvents();

  // Membership: the fixed member list, every node with both roles. Liveness and free disk
  // space, so placement skips dead and full nodes, come from etcd's leases and registrations
  // when the node is given etcd, else from a failure detector whose probes bring them back.
  // Every node's one port serves clients and peers.
  const transport = new GrpcTransport({
    server: auth.serverCredentials(),
    channels: auth,
    traffic: metrics.traffic,
  });
  const members = peers.map((node) => ({ ...node, roles: ALL_ROLES }));
  // The fault layer (tests and chaos runs) cuts Raft, chunk and liveness traffic alike: a
  // node cut off from a member counts it dead, as a real partition would make it.
  const faults = options.faultFile ? watchFaultFile(options.faultFile) : undefined;
  // Probe connections are the static membership's failure detector's, made as members are
  // first probed (a member added since start among them); etcd needs none.
  const probeConnections = new Map<string, ReturnType<typeof transport.connect>>();
  const probeConnection = (node: NodeInfo) => {
    let connection = probeConnections.get(node.id);
    if (!connection) {
      connection = transport.connect(node.address, { callTimeoutMs: 800 });
      probeConnections.set(node.id, connection);
    }
    return connection;
  };
  // Members added since start with `sandstore member add` have their addresses recorded in
  // the metadata, which is read once the store is open.
  let recordedAddress: (nodeId: string) => string | undefined = () => undefined;
  let joinedMembers: () => MemberSpec[] = () => [];
  let membership: Membership;
  let etcd: EtcdMembership | undefined;
  if (options.etcd) {
    etcd = etcdRegistration({
      options,
      self: { id, address: options.listen, roles: ALL_ROLES },
      disk,
      // The Raft group is --peers and the members added to it: a registration of another id
      // is not this cluster's node (yet).
      accept: (member) =>
        members.some((node) => node.id === member.id) || recordedAddress(member.id) !== undefined,
      logger,
    });
    await startRegistration(etcd, async () => {
      await disk.stop();
      await unlock();
    });
    membership = etcd;
  } else {
    membership = new StaticMembership(id, members, {
      liveness: {
        probe: async (node) => {
          if (faults?.dropsTo(node.id) || faults?.dropsFrom(node.id))
            throw new UnavailableError(
              "EAGAIN",
              node.address,
              `fault layer: ${node.id} is cut off`,
            );
          const reply = await probeConnection(node).status();
          return { freeBytes: reply.nodes[0]?.diskFreeBytes };
        },
      },
      selfReport: () => ({ freeBytes: disk.space.status().freeBytes }),
      // Nodes added with `sandstore member add`, once the store that records them is open.
      joined: () => joinedMembers(),
    });
  }
  const addresses = new Map(peers.map((node) => [node.id, node.address]));
  const addressOf = (nodeId: string) =>
    addresses.get(nodeId) ?? recordedAddress(nodeId) ?? etcd?.addressOf(nodeId);

  // Stores: the namespace (refusing flags that disagree with the decided settings) and this
  // node's chunks.
  const { store, requested } = await openGroupStore(options, logger, async () => {
    await disk.stop();
    await unlock();
  });
  const chunks = await DiskChunkStore.open(join(options.dataDir, "chunks"), {
    onDamaged: (error) => {
      metrics.countDamagedCopy();
      logger.warn({ err: error }, "chunk copy failed its checksum");
    },
    admitWrite: (bytes, chunkId) => disk.space.admitWrite(bytes, `chunk ${chunkId}`),
  });
  recordedAddress = (nodeId) => store.memberAddress(nodeId);
  joinedMembers = () =>
    store
      .memberAddresses()
      .map(({ nodeId, address }) => ({ id: nodeId, address, roles: ALL_ROLES }));

  // Replicator: a Raft group of all nodes over gRPC.
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

  // Placement, control, coordinator, planes: R copies, committed at W, as the log decided.
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
  const replicas = new GrpcReplicaAccess({
    local: { id, store: chunks },
    addressOf,
    auth,
    faults,
  });
  const coordinator = new TwoPhaseCoordinator(control, replicas);
  const data = new ReplicatedDataPlane(control, coordinator, replicas, (error) =>
    logger.warn({ err: error }, "read repair failed"),
  );

  // Maintenance, on the leader only: repair to R copies, a scrub that hands damaged copies to
  // repair, then garbage collection.
  const maintenance = leaderMaintenance({
    control,
    membership,
    replicas,
    placement,
    options,
    logger,
    isWriteInFlight: (chunkId) => data.isWriteInFlight(chunkId),
    readRepairsTotal: () => data.readRepairsTotal,
    draining: () => control.drainingNodes(),
    events,
  });

  // Server: clients, authenticated as `--auth` says, and, behind the trust boundary, the other
  // nodes, on one port.
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
    topology: "hyperconverged",
    control,
    data,
    membership,
    chunkUsage: () => chunks.usage(),
    operationTotals: () => metrics.fileOperationTotals(),
    httpAddress: () => httpAddress,
    maintenance: () => maintenance.status(),
    drainingNodes: () => control.drainingNodes(),
    events: () => events.recent(),
    verifyCopy: (nodeId, chunkId, checksum) => replicas.verifyChunk(nodeId, chunkId, checksum),
  });
  const files = meteredFileService(server, metrics);
  const listener = await transport.listen(options.listen, files, (grpcServer) => {
    raftTransport.register(grpcServer);
    addChunkService(grpcServer, chunks, auth, faults);
    // The control plane for nodes in other processes (a data server of another topology, a
    // tool), behind the same trust boundary.
    addMetadataService(grpcServer, control, auth);
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

  // HTTP: metrics, health and readiness, and the REST API over a client of this node.
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
    await membership.close();
    for (const connection of probeConnections.values()) connection.close();
    await store.close();
    await chunks.close();
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
  logger.info({ address: listener.address, members: peers.length }, "hyperconverged node serving");

  return {
    id,
    address: listener.address,
    httpAddress: http?.address,
    failed: failed.promise,
    async stop() {
      await http?.close();
      await stopParts();
      logger.info("node stopped");
    },
  };
}
