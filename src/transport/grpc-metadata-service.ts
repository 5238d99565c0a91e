/**
 * The metadata service over gRPC: the ControlPlane seam across a process boundary. The server
 * side serves any ControlPlane (`addMetadataService`) to the cluster's nodes only; the client
 * side (`RemoteControlPlane`) implements the same asynchronous interface by calling it, so a
 * data plane, a repairer or a server cannot tell an in-process control plane from a remote one.
 */
import type * as grpc from "@grpc/grpc-js";
import type { ChunkInfo } from "../chunks/chunk-store.ts";
import { fsError, NotLeaderError, UnavailableError } from "../common/errors.ts";
import { normalizePath } from "../common/paths.ts";
import type {
  AttrChanges,
  CommitOutcome,
  ControlPlane,
  CreateOptions,
  NewUser,
  ReadOptions,
  ReadPlan,
  SpecialFile,
  UserCredentials,
  WriteIntent,
  WrittenChunk,
} from "../control/control-plane.ts";
import type { CapabilityIssuer } from "../data/capability-issuer.ts";
import type { ChunkGrant } from "../data/chunk-capability.ts";
import type { ChunkGrantBook } from "../data/chunk-grant-book.ts";
import type { DataServerReport, ReportReply } from "../data/data-server-reporter.ts";
import type {
  Caller,
  ClientSession,
  Inode,
  Owner,
  UserRecord,
} from "../gen/sandstore/v1/metadata.ts";
import {
  type MetaChunkGrant,
  type MetaChunkInventoryPage,
  MetadataServiceClient,
  type MetadataServiceServer,
  MetadataServiceService,
  type MetaWriteIntent,
} from "../gen/sandstore/v1/metadata_service.ts";
import type { ClusterSettings } from "../metadata/cluster-settings.ts";
import {
  type ChunkSlot,
  type DirPage,
  isInlineSlot,
  type SlotCursor,
} from "../metadata/metadata-store.ts";
import type { ReplicatorStatus } from "../replication/metadata-replicator.ts";
import type { CallInfo } from "./file-service-api.ts";
import { callInfo, errorToStatus, RECONNECT_OPTIONS, statusToError } from "./grpc-transport.ts";
import { admitPeer } from "./peer-admission.ts";
import {
  type IncomingCall,
  NODES_ONLY,
  type PeerAuth,
  type PeerIdentity,
  TOKEN_HEADER,
} from "./peer-auth.ts";

/** Deadline of one metadata call: past a Raft commit under load, short of a client's patience. */
const CALL_TIMEOUT_MS = 15_000;
/** NOT_LEADER redirects one call follows: bounds a redirect loop during an election. */
const MAX_REDIRECTS = 5;
/** Most slots one scan page may ask for (as MetadataStore.scanChunkSlots). */
const MAX_SCAN_PAGE = 1000;

const ROLES: readonly ReplicatorStatus["role"][] = [
  "leader",
  "follower",
  "candidate",
  "learner",
  "stopped",
];

/** The wire's intent as the seam's (its path normalized at this edge), and back. */
function intentFromWire(wire: MetaWriteIntent): WriteIntent {
  const { inodeId, slotIndex, current, chunkId, writeQuorum, session, caller } = wire;
  const path = normalizeLabel(wire.path);
  const targets = wire.targets.map((node) => ({ id: node.id, address: node.address }));
  return { path, inodeId, slotIndex, current, chunkId, targets, writeQuorum, session, caller };
}

function intentToWire(intent: WriteIntent): MetaWriteIntent {
  const { path, inodeId, slotIndex, current, chunkId, writeQuorum, session, caller } = intent;
  const targets = intent.targets.map((node) => ({ id: node.id, address: node.address }));
  // Grants are the edge's to add, for a client; a node needs none.
  const grants: MetaWriteIntent["grants"] = [];
  return {
    path,
    inodeId,
    slotIndex,
    current,
    chunkId,
    targets,
    writeQuorum,
    session,
    caller,
    grants,
  };
}

/**
 * A path label from the wire: normalized when it is a path, kept when it names an inode
 * (`inode 7`), as error messages do.
 */
function normalizeLabel(label: string): string {
  return label.startsWith("/") ? normalizePath(label) : label;
}

/** How a metadata server serves clients directly (the disaggregated topology). */
export interface ClientChunkAccess {
  /** Who a client's call comes from (`--auth`); rejects EACCES as the file service does. */
  readonly identify: (call: CallInfo, path: string) => Promise<Caller | undefined>;
  /** Signs the capabilities intents and plans carry, and checks a commit's. */
  readonly issuer: CapabilityIssuer;
  /** Where a data server listens, by id, for a read plan's replicas. */
  readonly addressOf: (nodeId: string) => string | undefined;
}

/** A client's call, authenticated: how to grant it chunks, and who it is. */
interface ClientCall extends ClientChunkAccess {
  readonly caller: Caller | undefined;
}

/** What `addMetadataService` serves beyond the control plane. */
export interface MetadataServiceOptions {
  /** Opens the five client calls (see metadata_service.proto); absent: nodes only. */
  readonly clients?: ClientChunkAccess;
  /**
   * Takes a data server's report; absent, reports are refused ENOTSUP (a topology whose
   * members are fixed).
   */
  readonly onDataServerReport?: (report: DataServerReport) => ReportReply;
  /**
   * Takes data server `dataServerId`'s chunk inventory (its block report; checksums are not
   * listed: 0); absent, inventories are refused ENOTSUP.
   */
  readonly onChunkInventory?: (dataServerId: string, chunks: ChunkInfo[]) => void;
}

/** Chunks per page of an inventory: bounds one message at about 64 KiB. */
export const INVENTORY_PAGE_CHUNKS = 1000;
/**
 * Chunks one inventory may list: what a metadata server holds for each data server is
 * bounded (about 150 MiB of memory at this count). 1 Mi chunks is 8 TiB at the default
 * chunk size; a data server with more is refused, and the leader asks it for its listing.
 */
export const MAX_INVENTORY_CHUNKS = 1 << 20;

/** True when a call presents a node's or an operator's credentials, rather than a client's. */
function presentsPeerCredentials(call: IncomingCall): boolean {
  return (
    call.metadata.get(TOKEN_HEADER).length > 0 ||
    call.getAuthContext().sslPeerCertificate !== undefined
  );
}

/**
 * Registers `MetadataService` on `server`, answering from `control`. Only the cluster's nodes
 * may call it (`auth`): a call carries a client's identity that its node already checked.
 * With `options.clients`, clients may make the five calls that move chunk bytes' metadata,
 * as themselves. Paths are normalized here, at the edge, as the node server does for clients.
 */
export function addMetadataService(
  server: grpc.Server,
  control: ControlPlane,
  auth: PeerAuth,
  options: MetadataServiceOptions = {},
): void {
  const clients = options.clients;
  /**
   * A unary handler: the caller admitted first, the answer or the typed error after. `run`
   * is async, so a validation error (a malformed path) becomes its rejection.
   */
  const serve =
    <Req, Res>(run: (request: Req, identity: PeerIdentity) => Promise<Res>) =>
    (call: IncomingCall & { readonly request: Req }, callback: grpc.sendUnaryData<Res>): void => {
      const admission = admitPeer(auth, call, NODES_ONLY, "metadata service");
      if (!admission.admitted) callback(admission.status);
      else
        run(call.request, admission.identity).then(
          (response) => callback(null, response),
          (error: unknown) => callback(errorToStatus(error)),
        );
    };
  /**
   * A handler of a call open to clients: a node's call as `serve`; a client's authenticated
   * with `clients`, and `run` told who it proved to be: that, not the request's `caller`,
   * is whose call it is.
   */
  const serveOpen =
    <Req, Res>(run: (request: Req, client: ClientCall | undefined) => Promise<Res>) =>
    (
      call: IncomingCall & { readonly request: Req; getPeer(): string },
      callback: grpc.sendUnaryData<Res>,
    ): void => {
      if (!clients || presentsPeerCredentials(call)) {
        serve((request: Req) => run(request, undefined))(call, callback);
        return;
      }
      clients
        .identify(callInfo(call), "")
        .then((caller) => run(call.request, { ...clients, caller }))
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(errorToStatus(error)),
        );
    };
  const read = (stale: boolean, caller: Caller | undefined, access = 0): ReadOptions => ({
    stale,
    caller,
    access,
  });
  const implementation: MetadataServiceServer = {
    settings: serveOpen(async () => control.settings()),
    stat: serve(async (r) => ({
      inode: await control.stat(normalizePath(r.path), read(r.stale, r.caller, r.access)),
    })),
    create: serve(async (r) => ({
      inode: await control.create(
        normalizePath(r.path),
        { mode: r.mode, exclusive: r.exclusive, truncate: r.truncate, access: r.access },
        r.session,
        r.caller,
        r.owner,
      ),
    })),
    mkdir: serve(async (r) => ({
      inode: await control.mkdir(
        normalizePath(r.path),
        r.mode,
        r.recursive,
        r.session,
        r.caller,
        r.owner,
      ),
    })),
    rmdir: serve(async (r) => {
      await control.rmdir(normalizePath(r.path), r.session, r.caller);
      return {};
    }),
    unlink: serve(async (r) => {
      await control.unlink(normalizePath(r.path), r.session, r.caller);
      return {};
    }),
    rename: serve(async (r) => {
      await control.rename(normalizePath(r.from), normalizePath(r.to), r.session, r.caller);
      return {};
    }),
    link: serve(async (r) => ({
      inode: await control.link(normalizePath(r.from), normalizePath(r.to), r.session, r.caller),
    })),
    mknod: serve(async (r) => ({
      inode: await control.mknod(
        normalizePath(r.path),
        { type: r.type, mode: r.mode, rdev: r.rdev },
        r.session,
        r.caller,
        r.owner,
      ),
    })),
    symlink: serve(async (r) => ({
      inode: await control.symlink(normalizePath(r.path), r.target, r.session, r.caller, r.owner),
    })),
    setAttr: serve(async (r) => {
      const changes: AttrChanges = {
        ...(r.mode !== undefined && { mode: r.mode }),
        ...(r.size !== undefined && { size: r.size }),
        ...(r.atimeMs !== undefined && { atimeMs: r.atimeMs }),
        ...(r.mtimeMs !== undefined && { mtimeMs: r.mtimeMs }),
        ...(r.uid !== undefined && { uid: r.uid }),
        ...(r.gid !== undefined && { gid: r.gid }),
        ...(r.xattrs.length > 0 && { xattrs: r.xattrs }),
      };
      return { inode: await control.setAttr(normalizePath(r.path), changes, r.session, r.caller) };
    }),
    readDir: serve(async (r) =>
      control.readDir(normalizePath(r.path), r.afterName, r.limit, read(r.stale, r.caller)),
    ),
    prepareWrite: serveOpen(async (r, client) => {
      const intent = await control.prepareWrite(
        r.inodeId,
        r.slotIndex,
        normalizeLabel(r.path),
        r.session,
        client ? client.caller : r.caller,
      );
      const wire = intentToWire(intent);
      if (!client) return wire;
      const grants = [client.issuer.grant(intent.chunkId, "write")];
      if (intent.current && !isInlineSlot(intent.current))
        grants.push(client.issuer.grant(intent.current.chunkId, "read"));
      return { ...wire, grants };
    }),
    writeInline: serveOpen(async (r, client) => ({
      inode: await control.writeInline(
        r.inodeId,
        r.slotIndex,
        r.offsetInSlot,
        Buffer.from(r.data),
        normalizeLabel(r.path),
        r.session,
        client ? client.caller : r.caller,
      ),
    })),
    commitWrite: serveOpen(async (r, client) => {
      if (!r.intent) throw fsError("EINVAL", "", "a commit without its intent");
      // A client's commit is its own: the intent's caller is the one it authenticated as.
      const intent = intentFromWire(client ? { ...r.intent, caller: client.caller } : r.intent);
      const commit = () =>
        control.commitWrite(intent, {
          length: r.length,
          checksum: r.checksum,
          replicas: r.replicas,
          minFileSize: r.minFileSize,
        });
      let outcome: CommitOutcome;
      if (client) {
        const grant = r.intent.grants.find(
          (g) => g.chunkId === intent.chunkId && g.operation === "write",
        );
        if (!grant) throw fsError("EACCES", intent.path, "a commit without its write capability");
        outcome = await client.issuer.commitGranted(grant.capability, intent.chunkId, commit);
      } else outcome = await commit();
      return outcome.committed
        ? { committed: true, inode: outcome.inode }
        : { committed: false, inode: undefined };
    }),
    resolveRead: serveOpen(async (r, client) => {
      const plan = await control.resolveRead(
        r.inodeId,
        r.offset,
        r.length,
        normalizeLabel(r.path),
        read(r.stale, client ? client.caller : r.caller),
      );
      const { inode, slots, chunkSize } = plan;
      if (!client) return { inode, slots, chunkSize, grants: [], nodes: [] };
      const chunks = slots.filter((slot) => !isInlineSlot(slot));
      const grants = chunks.map((slot) => client.issuer.grant(slot.chunkId, "read"));
      const nodes = [...new Set(chunks.flatMap((slot) => slot.replicas))].flatMap((id) => {
        const address = client.addressOf(id);
        return address === undefined ? [] : [{ id, address }];
      });
      return { inode, slots, chunkSize, grants, nodes };
    }),
    chunkReplicas: serve(async (r) => {
      const replicas = await control.chunkReplicas(r.chunkId);
      return { referenced: replicas !== undefined, replicas: [...(replicas ?? [])] };
    }),
    scanChunkSlots: serve(async (r) => ({
      slots: await control.scanChunkSlots(r.after, Math.min(r.limit, MAX_SCAN_PAGE)),
    })),
    recordReplicas: serve(async (r) => ({
      recorded: await control.recordReplicas(r.inodeId, r.slotIndex, r.chunkId, r.replicas),
    })),
    addUser: serve(async (r) =>
      control.addUser({ name: r.name, uid: r.uid, gid: r.gid, groups: r.groups }, r.caller),
    ),
    resetSecret: serve(async (r) => control.resetSecret(r.name, r.caller)),
    removeUser: serve(async (r) => {
      await control.removeUser(r.name, r.caller);
      return {};
    }),
    listUsers: serve(async () => ({ users: await control.listUsers() })),
    userByAccessKey: serve(async (r) => ({
      user: await control.userByAccessKey(r.accessKeyId),
    })),
    leadership: serve(async (r) => ({
      leader: r.current ? await control.isCurrentLeader() : await control.isLeader(),
    })),
    stateHash: serve(async () => ({ hash: await control.stateHash() })),
    status: serve(async () => control.status()),
    reportDataServer: serve(async (r, identity) => {
      if (!options.onDataServerReport)
        throw fsError("ENOTSUP", "", "this topology's members are fixed: no data server reports");
      // A node reports for itself only: its certificate (or asserted id) names it.
      if (r.id !== identity.id)
        throw fsError("EACCES", "", `node ${identity.id} reported for ${r.id}`);
      const reply = options.onDataServerReport(r);
      return {
        metadataId: reply.metadataId,
        keyId: reply.key.id,
        key: reply.key.secret,
        metadataServers: [...reply.metadataServers],
      };
    }),
    reportChunkInventory: (call, callback) => {
      const admission = admitPeer(auth, call, NODES_ONLY, "metadata service");
      if (!admission.admitted) return callback(admission.status);
      (async () => {
        if (!options.onChunkInventory)
          throw fsError("ENOTSUP", "", "this topology's members are fixed: no inventories");
        const chunks: ChunkInfo[] = [];
        for await (const page of call as AsyncIterable<MetaChunkInventoryPage>) {
          if (page.chunks.length > INVENTORY_PAGE_CHUNKS)
            throw fsError("EINVAL", "", `an inventory page lists at most ${INVENTORY_PAGE_CHUNKS}`);
          if (chunks.length + page.chunks.length > MAX_INVENTORY_CHUNKS)
            throw fsError(
              "EINVAL",
              "",
              `an inventory lists at most ${MAX_INVENTORY_CHUNKS} chunks`,
            );
          for (const entry of page.chunks)
            chunks.push({
              id: entry.chunkId,
              size: entry.size,
              checksum: 0,
              writtenAtMs: entry.writtenAtMs,
            });
        }
        // A node reports for itself only: the inventory is its identity's.
        options.onChunkInventory(admission.identity.id, chunks);
        return {};
      })().then(
        (reply) => callback(null, reply),
        (error: unknown) => callback(errorToStatus(error)),
      );
    },
  };
  server.addService(MetadataServiceService, implementation);
}

/**
 * Sends a data server's reports to metadata servers (`DataServerReporter.send`), one client
 * per address, as node `auth`.
 */
export class MetadataReportSender {
  private readonly clients = new Map<string, MetadataServiceClient>();

  constructor(
    private readonly auth: PeerAuth,
    private readonly callTimeoutMs = 2000,
  ) {}

  /** The client of the metadata server at `address`, made on first use. */
  private client(address: string): MetadataServiceClient {
    let client = this.clients.get(address);
    if (!client) {
      const channel = this.auth.channel();
      client = new MetadataServiceClient(address, channel.credentials, {
        ...RECONNECT_OPTIONS,
        ...channel.options,
      });
      this.clients.set(address, client);
    }
    return client;
  }

  send(address: string, report: DataServerReport): Promise<ReportReply> {
    const sender = this.client(address);
    return new Promise((resolve, reject) =>
      sender.reportDataServer(
        report,
        this.auth.callMetadata(),
        { deadline: Date.now() + this.callTimeoutMs },
        (error, reply) =>
          error
            ? reject(statusToError(error, address))
            : resolve({
                metadataId: reply.metadataId,
                key: { id: reply.keyId, secret: Buffer.from(reply.key) },
                metadataServers: reply.metadataServers,
              }),
      ),
    );
  }

  /**
   * Sends this data server's chunk inventory to the metadata server at `address`, in pages;
   * resolves once it took the whole of it. `timeoutMs` bounds the call.
   */
  sendInventory(address: string, chunks: readonly ChunkInfo[], timeoutMs: number): Promise<void> {
    const client = this.client(address);
    return new Promise((resolve, reject) => {
      const stream = client.reportChunkInventory(
        this.auth.callMetadata(),
        { deadline: Date.now() + timeoutMs },
        (error) => (error ? reject(statusToError(error, address)) : resolve()),
      );
      for (let at = 0; at < chunks.length; at += INVENTORY_PAGE_CHUNKS)
        stream.write({
          chunks: chunks.slice(at, at + INVENTORY_PAGE_CHUNKS).map((chunk) => ({
            chunkId: chunk.id,
            size: chunk.size,
            writtenAtMs: chunk.writtenAtMs,
          })),
        });
      stream.end();
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

/** Options of `RemoteControlPlane`. */
export interface RemoteControlPlaneOptions {
  /**
   * Metadata servers, `host:port`; calls go to the first and follow NOT_LEADER hints. A
   * function is asked again whenever a call finds none of the ones it knew answering (a data
   * server that learns the metadata servers from etcd membership).
   */
  readonly addresses: readonly string[] | (() => readonly string[]);
  /**
   * How calls prove who makes them: a node's `PeerAuth`, or a client's channel security with
   * its credentials' metadata (`clientCallMetadata`), for the calls open to clients.
   */
  readonly auth: Pick<PeerAuth, "channel" | "callMetadata">;
  /** Deadline of one call, ms. Default 15,000. */
  readonly callTimeoutMs?: number;
  /**
   * A client's grant book: the capabilities and addresses that intents and plans carry go
   * there, and a commit takes its write capability from it.
   */
  readonly grants?: ChunkGrantBook;
}

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/**
 * A ControlPlane in another process, reached through its `MetadataService`. Follows
 * NOT_LEADER hints to the leader (at most MAX_REDIRECTS per call); any other failure is
 * passed on typed (SandstoreError, NotLeaderError without a leader, UnavailableError) for the
 * caller to retry, as it would an in-process control plane's.
 */
export class RemoteControlPlane implements ControlPlane {
  private readonly clients = new Map<string, MetadataServiceClient>();
  private current: string | undefined;
  private decided: ClusterSettings | undefined;

  /** Throws RangeError when given a list without an address. */
  constructor(private readonly o: RemoteControlPlaneOptions) {
    if (typeof o.addresses !== "function" && o.addresses.length === 0)
      throw new RangeError("a remote control plane needs an address");
  }

  private addresses(): readonly string[] {
    return typeof this.o.addresses === "function" ? this.o.addresses() : this.o.addresses;
  }

  async settings(): Promise<ClusterSettings> {
    // Settings never change once decided: one answer serves for the life of the process.
    this.decided ??= await this.call((c) => c.settings.bind(c), {});
    return this.decided;
  }

  async stat(path: string, options?: ReadOptions): Promise<Inode> {
    const reply = await this.call((c) => c.stat.bind(c), {
      path,
      stale: options?.stale ?? false,
      caller: options?.caller,
      access: options?.access ?? 0,
    });
    return required(reply.inode, path);
  }

  async create(
    path: string,
    options: CreateOptions,
    session?: ClientSession,
    caller?: Caller,
    owner?: Owner,
  ): Promise<Inode> {
    const reply = await this.call((c) => c.create.bind(c), {
      path,
      mode: options.mode,
      exclusive: options.exclusive,
      truncate: options.truncate,
      access: options.access ?? 0,
      session,
      caller,
      owner,
    });
    return required(reply.inode, path);
  }

  async mkdir(
    path: string,
    mode: number,
    recursive: boolean,
    session?: ClientSession,
    caller?: Caller,
    owner?: Owner,
  ): Promise<Inode> {
    const reply = await this.call((c) => c.mkdir.bind(c), {
      path,
      mode,
      recursive,
      session,
      caller,
      owner,
    });
    return required(reply.inode, path);
  }

  async rmdir(path: string, session?: ClientSession, caller?: Caller): Promise<void> {
    await this.call((c) => c.rmdir.bind(c), { path, session, caller });
  }

  async unlink(path: string, session?: ClientSession, caller?: Caller): Promise<void> {
    await this.call((c) => c.unlink.bind(c), { path, session, caller });
  }

  async rename(from: string, to: string, session?: ClientSession, caller?: Caller): Promise<void> {
    await this.call((c) => c.rename.bind(c), { from, to, session, caller });
  }

  async link(from: string, to: string, session?: ClientSession, caller?: Caller): Promise<Inode> {
    const reply = await this.call((c) => c.link.bind(c), { from, to, session, caller });
    return required(reply.inode, from);
  }

  async symlink(
    path: string,
    target: string,
    session?: ClientSession,
    caller?: Caller,
    owner?: Owner,
  ): Promise<Inode> {
    const reply = await this.call((c) => c.symlink.bind(c), {
      path,
      target,
      session,
      caller,
      owner,
    });
    return required(reply.inode, path);
  }

  async mknod(
    path: string,
    special: SpecialFile,
    session?: ClientSession,
    caller?: Caller,
    owner?: Owner,
  ): Promise<Inode> {
    const reply = await this.call((c) => c.mknod.bind(c), {
      path,
      ...special,
      session,
      caller,
      owner,
    });
    return required(reply.inode, path);
  }

  async setAttr(
    path: string,
    changes: AttrChanges,
    session?: ClientSession,
    caller?: Caller,
  ): Promise<Inode> {
    const reply = await this.call((c) => c.setAttr.bind(c), {
      path,
      ...changes,
      xattrs: [...(changes.xattrs ?? [])],
      session,
      caller,
    });
    return required(reply.inode, path);
  }

  async readDir(
    path: string,
    afterName: string,
    limit: number,
    options?: ReadOptions,
  ): Promise<DirPage> {
    const page = await this.call((c) => c.readDir.bind(c), {
      path,
      afterName,
      limit,
      stale: options?.stale ?? false,
      caller: options?.caller,
    });
    return {
      entries: page.entries.map((entry) => ({
        name: entry.name,
        inode: required(entry.inode, path),
      })),
      done: page.done,
    };
  }

  async prepareWrite(
    inodeId: number,
    slotIndex: number,
    path: string,
    session?: ClientSession,
    caller?: Caller,
  ): Promise<WriteIntent> {
    const wire = await this.call((c) => c.prepareWrite.bind(c), {
      inodeId,
      slotIndex,
      path,
      session,
      caller,
    });
    const intent = intentFromWire(wire);
    this.o.grants?.remember(wire.grants.map(grantFromWire), intent.targets);
    return intent;
  }

  async writeInline(
    inodeId: number,
    slotIndex: number,
    offsetInSlot: number,
    data: Buffer,
    path: string,
    session?: ClientSession,
    caller?: Caller,
  ): Promise<Inode | undefined> {
    const reply = await this.call((c) => c.writeInline.bind(c), {
      inodeId,
      slotIndex,
      offsetInSlot,
      data,
      path,
      session,
      caller,
    });
    return reply.inode;
  }

  async commitWrite(intent: WriteIntent, written: WrittenChunk): Promise<CommitOutcome> {
    const grant = this.o.grants?.grant(intent.chunkId, "write");
    const reply = await this.call((c) => c.commitWrite.bind(c), {
      intent: { ...intentToWire(intent), grants: grant ? [grant] : [] },
      length: written.length,
      checksum: written.checksum,
      replicas: [...written.replicas],
      minFileSize: written.minFileSize,
    });
    if (!reply.committed) return { committed: false };
    return { committed: true, inode: required(reply.inode, intent.path) };
  }

  async resolveRead(
    inodeId: number,
    offset: number,
    length: number,
    path: string,
    options?: ReadOptions,
  ): Promise<ReadPlan> {
    const plan = await this.call((c) => c.resolveRead.bind(c), {
      inodeId,
      offset,
      length,
      path,
      stale: options?.stale ?? false,
      caller: options?.caller,
    });
    this.o.grants?.remember(plan.grants.map(grantFromWire), plan.nodes);
    return { inode: required(plan.inode, path), slots: plan.slots, chunkSize: plan.chunkSize };
  }

  async chunkReplicas(chunkId: string): Promise<readonly string[] | undefined> {
    const reply = await this.call((c) => c.chunkReplicas.bind(c), { chunkId });
    return reply.referenced ? reply.replicas : undefined;
  }

  async scanChunkSlots(
    after: SlotCursor | undefined,
    limit: number,
  ): Promise<Array<{ inodeId: number; slot: ChunkSlot }>> {
    const reply = await this.call((c) => c.scanChunkSlots.bind(c), { after, limit });
    return reply.slots.map(({ inodeId, slot }) => ({
      inodeId,
      slot: requiredSlot(slot, inodeId),
    }));
  }

  async recordReplicas(
    inodeId: number,
    slotIndex: number,
    chunkId: string,
    replicas: readonly string[],
  ): Promise<boolean> {
    const reply = await this.call((c) => c.recordReplicas.bind(c), {
      inodeId,
      slotIndex,
      chunkId,
      replicas: [...replicas],
    });
    return reply.recorded;
  }

  async addUser(user: NewUser, caller?: Caller): Promise<UserCredentials> {
    return this.call((c) => c.addUser.bind(c), { ...user, groups: [...user.groups], caller });
  }

  async resetSecret(name: string, caller?: Caller): Promise<UserCredentials> {
    return this.call((c) => c.resetSecret.bind(c), { name, caller });
  }

  async removeUser(name: string, caller?: Caller): Promise<void> {
    await this.call((c) => c.removeUser.bind(c), { name, caller });
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.call((c) => c.listUsers.bind(c), {})).users;
  }

  async userByAccessKey(accessKeyId: string): Promise<UserRecord | undefined> {
    return (await this.call((c) => c.userByAccessKey.bind(c), { accessKeyId })).user;
  }

  async isLeader(): Promise<boolean> {
    return (await this.call((c) => c.leadership.bind(c), { current: false })).leader;
  }

  async isCurrentLeader(): Promise<boolean> {
    return (await this.call((c) => c.leadership.bind(c), { current: true })).leader;
  }

  async stateHash(): Promise<string> {
    return (await this.call((c) => c.stateHash.bind(c), {})).hash;
  }

  async status(): Promise<ReplicatorStatus & { inodes: number; chunks: number }> {
    const reply = await this.call((c) => c.status.bind(c), {});
    const role = ROLES.find((known) => known === reply.role) ?? "stopped";
    return { ...reply, role };
  }

  /** Closes every connection. */
  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client(address: string): MetadataServiceClient {
    let client = this.clients.get(address);
    if (!client) {
      const channel = this.o.auth.channel();
      client = new MetadataServiceClient(address, channel.credentials, {
        ...RECONNECT_OPTIONS,
        ...channel.options,
      });
      this.clients.set(address, client);
    }
    return client;
  }

  /**
   * One call to the current metadata server, following NOT_LEADER hints; a server that does
   * not answer sends the call to the next address given (each at most once per call), since
   * a dead leader's followers elect another among them.
   */
  private async call<Req, Res>(
    method: (client: MetadataServiceClient) => Unary<Req, Res>,
    request: Req,
  ): Promise<Res> {
    let redirects = 0;
    let unanswered = 0;
    for (;;) {
      const addresses = this.addresses();
      const address = this.current ?? addresses[0];
      if (address === undefined)
        throw new UnavailableError("EAGAIN", "", "no metadata server is known yet");
      this.current = address;
      try {
        return await new Promise<Res>((resolve, reject) => {
          method(this.client(address))(
            request,
            this.o.auth.callMetadata(),
            { deadline: Date.now() + (this.o.callTimeoutMs ?? CALL_TIMEOUT_MS) },
            (error, response) =>
              error ? reject(statusToError(error, address)) : resolve(response),
          );
        });
      } catch (error) {
        if (error instanceof NotLeaderError && error.leaderAddress && redirects < MAX_REDIRECTS) {
          redirects++;
          this.current = error.leaderAddress;
          continue;
        }
        if (error instanceof UnavailableError && unanswered < addresses.length - 1) {
          unanswered++;
          const at = addresses.indexOf(address);
          this.current = addresses[(at + 1) % addresses.length] ?? address;
          continue;
        }
        // None answered: the next call starts from the list as it is then.
        if (error instanceof UnavailableError) this.current = undefined;
        throw error;
      }
    }
  }
}

/** A grant from the wire; an operation other than a write's is taken as a read's. */
function grantFromWire(wire: MetaChunkGrant): ChunkGrant {
  const operation = wire.operation === "write" ? "write" : "read";
  return { ...wire, operation };
}

function required(inode: Inode | undefined, path: string): Inode {
  if (!inode) throw fsError("EIO", path, "metadata reply without an inode");
  return inode;
}

function requiredSlot(slot: ChunkSlot | undefined, inodeId: number): ChunkSlot {
  if (!slot) throw fsError("EIO", `inode ${inodeId}`, "metadata scan reply without its slot");
  return slot;
}
