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
import type { KvPeer } from "../kv/kv-peers.ts";
import { KvServer } from "../kv/kv-server.ts";
import { LmdbKvStateMachine } from "../kv/kv-state-machine.ts";
import type { Logger } from "../observability/logger.ts";
import { RaftNode } from "../raft/node.ts";
import { DiskStorage } from "../raft/storage/disk-storage.ts";
import { type FaultLayer, watchFaultFile } from "../transport/fault-file.ts";
import { addAdminService } from "../transport/grpc-admin-service.ts";
import { GrpcRaftTransport } from "../transport/grpc-raft-transport.ts";
import { type CredentialOptions, nodePeerAuth } from "./peer-credentials.ts";
import { raftAdminHandlers } from "./raft-admin-handlers.ts";

export interface KvNodeOptions extends CredentialOptions {
  readonly id: string;
  /** Interface both servers listen on. */
  readonly bindHost: string;
  readonly raftPort: number;
  readonly clientPort: number;
  /** The client address this node gives out in NOT_LEADER replies. */
  readonly advertiseClientAddr: string;
  readonly peers: readonly KvPeer[];
  readonly dataDir: string;
  readonly logger: Logger;
  /** A JSON file naming peers to cut off (tests and chaos runs only). */
  readonly faultFile?: string;
  /** Snapshot after this many applied entries. Default 10,000. */
  readonly snapshotEntries?: number;
  /** Milliseconds per Raft tick (elections after 10 to 20 ticks). Default 50. */
  readonly tickMs?: number;
}

export interface RunningKvNode {
  readonly id: string;
  readonly raftAddress: string;
  readonly clientAddress: string;
  stop(): Promise<void>;
}

export async function startKvNode(o: KvNodeOptions): Promise<RunningKvNode> {
  // Trust: the Raft port answers only the cluster's nodes (the token or mutual TLS).
  const auth = nodePeerAuth(o.id, "kv", o);
  await mkdir(o.dataDir, { recursive: true });
  const unlock = await lockDirectory(o.dataDir);

  // Membership: this node and its peers, fixed at start.
  const voters = [o.id, ...o.peers.map((p) => p.id)].sort();
  const raftAddresses = new Map(o.peers.map((p) => [p.id, `${p.host}:${p.raftPort}`]));
  const clientAddresses = new Map(o.peers.map((p) => [p.id, `${p.host}:${p.clientPort}`]));
  clientAddresses.set(o.id, o.advertiseClientAddr);

  // Stores: the Raft log and snapshots, the key-value state machine.
  const storage = new DiskStorage({
    dir: join(o.dataDir, "raft"),
    initialConf: { voters, learners: [] },
  });
  const machine = new LmdbKvStateMachine(o.dataDir);

  // Transport, with the fault layer when asked for. Messages arrive only once the node below
  // exists: the server starts listening after it is built.
  const faults: FaultLayer | undefined = o.faultFile ? watchFaultFile(o.faultFile) : undefined;
  const inbox: { node?: RaftNode } = {};
  const transport = new GrpcRaftTransport({
    selfId: o.id,
    listen: `${o.bindHost}:${o.raftPort}`,
    peers: raftAddresses,
    onMessage: (message) => inbox.node?.receive(message),
    auth,
    faults,
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
  });
  inbox.node = node;
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
  // rule the checker must catch (docs/testing.md). Never set outside those tests.
  const brokenReads = process.env.SANDSTORE_BREAK_RULE === "reads-without-readindex";
  if (brokenReads) o.logger.warn("SANDSTORE_BREAK_RULE: reads skip the read barrier");
  const replica = node;
  const server = new KvServer({
    host: o.bindHost,
    port: o.clientPort,
    replica: brokenReads
      ? {
          propose: (data) => replica.propose(data),
          readBarrier: async () => {},
          status: () => replica.status(),
        }
      : replica,
    read: (key) => machine.get(key),
    clientAddressOf: (id) => clientAddresses.get(id),
    logger: o.logger,
  });
  await server.listen();
  o.logger.info(
    { raft: transport.address, client: server.address, peers: o.peers.length },
    "key-value node serving",
  );

  const running = node;
  return {
    id: o.id,
    raftAddress: transport.address,
    clientAddress: server.address,
    async stop() {
      await server.close();
      await running.stop();
      await transport.close();
      await machine.close();
      await unlock();
      o.logger.info("key-value node stopped");
    },
  };
}
