/**
 * Chunk replicas between nodes over gRPC: the server side of `ChunkService` (on a node's
 * internal port), and a `ReplicaAccess` that reaches other nodes through it. Every call must
 * prove it comes from a node of the cluster (peer-auth.ts): clients, which cannot, do not
 * reach chunks around the metadata.
 */
import { once } from "node:events";
import * as grpc from "@grpc/grpc-js";
import type { ChunkInfo, ChunkStore } from "../chunks/chunk-store.ts";
import { fsError, UnavailableError } from "../common/errors.ts";
import type { ChunkOperation } from "../data/chunk-capability.ts";
import type { ChunkGrantBook } from "../data/chunk-grant-book.ts";
import { MAX_DATA_PIECE } from "../data/data-plane.ts";
import {
  copyThroughCaller,
  type ReplicaAccess,
  readVerifiedChunk,
  verifyStoredCopy,
} from "../data/replica-access.ts";
import type {
  ChunkServiceClient,
  ChunkServiceCopyChunkRequest,
  ChunkServiceListChunksResponse,
  ChunkServiceReadChunkResponse,
  ChunkServiceServer,
  ChunkServiceWriteChunkRequest,
} from "../gen/sandstore/v1/chunk_service.ts";
import { MAX_CHUNK_SIZE } from "../metadata/cluster-settings.ts";
import type { ChunkSlot } from "../metadata/metadata-store.ts";
import { BulkChunkServiceClient, BulkChunkServiceService } from "./bulk-data-codec.ts";
import type { FaultLayer } from "./fault-file.ts";
import { RECEIVE_WINDOW_BYTES } from "./grpc-server.ts";
import { errorToStatus, RECONNECT_OPTIONS, statusToError } from "./grpc-transport.ts";
import { admitPeer } from "./peer-admission.ts";
import { type IncomingCall, NODES_ONLY, type PeerAuth } from "./peer-auth.ts";

/** Metadata key of a client's chunk capability (chunk-capability.ts). */
export const CAPABILITY_HEADER = "sandstore-chunk-capability";

/** Bytes a data server moved for clients since start: what status reports per node. */
export class ClientBytes {
  writtenTotal = 0;
  readTotal = 0;
  countWritten(bytes: number): void {
    this.writtenTotal += bytes;
  }
  countRead(bytes: number): void {
    this.readTotal += bytes;
  }
}

/** How a data server lets clients at its chunks: by the capabilities metadata servers sign. */
export interface ChunkClientAccess {
  /** Throws EACCES unless `capability` allows `operation` on `chunkId` now. */
  checkCapability(capability: string, chunkId: string, operation: ChunkOperation): Promise<void>;
  readonly counters: ClientBytes;
}

/** Deadline of one replica call. */
const CALL_TIMEOUT_MS = 30_000;
/** Chunks per ListChunks message: bounds one message at about 64 KiB. */
const LIST_BATCH = 1000;
/** Sources one CopyChunk may name: R is at most this, and each is tried in turn. */
const MAX_COPY_SOURCES = 16;

/**
 * Makes `store`'s copy of a chunk from the first of the request's sources with a good copy,
 * reading each as node `auth` says this node is (so a cut link stays cut, and a source must
 * prove it is the node named); replaces any copy held here. Resolves to the copy's size.
 */
async function copyFromSources(
  store: ChunkStore,
  auth: PeerAuth,
  faults: FaultLayer | undefined,
  request: ChunkServiceCopyChunkRequest,
): Promise<number> {
  const what = `chunk ${request.chunkId}`;
  if (request.sources.length < 1 || request.sources.length > MAX_COPY_SOURCES)
    throw fsError("EINVAL", what, `a copy names 1 to ${MAX_COPY_SOURCES} sources`);
  if (request.length > MAX_CHUNK_SIZE)
    throw fsError("EINVAL", what, `a chunk is at most ${MAX_CHUNK_SIZE} bytes`);
  const addresses = new Map(request.sources.map((source) => [source.nodeId, source.address]));
  const sources = new GrpcReplicaAccess({ addressOf: (id) => addresses.get(id), auth, faults });
  try {
    const slot = { chunkId: request.chunkId, checksum: request.checksum };
    const bytes = await readVerifiedChunk(sources, slot, [...addresses.keys()], request.length);
    // A damaged copy here refuses a write over it: it goes first.
    await store.deleteChunk(request.chunkId);
    return (await store.writeChunk(request.chunkId, bytes)).size;
  } finally {
    sources.close();
  }
}

/**
 * Registers `ChunkService` for `store` on `server`; only nodes of the cluster may call it.
 * With a fault layer (tests, chaos runs), calls from a peer it drops are refused as if the
 * peer could not reach this node.
 */
export function addChunkService(
  server: grpc.Server,
  store: ChunkStore,
  auth: PeerAuth,
  faults?: FaultLayer,
  clients?: ChunkClientAccess,
): void {
  /**
   * True for a client's call carrying a capability: let in by it once the chunk it names is
   * known (`admitClient`), not by the trust boundary.
   */
  const fromClient = (call: IncomingCall) =>
    clients !== undefined && call.metadata.get(CAPABILITY_HEADER).length > 0;
  /** Why a node's call is refused, as a status; undefined when it may proceed. */
  const refusal = (call: IncomingCall) => {
    const admission = admitPeer(auth, call, NODES_ONLY, "internal chunk service");
    if (!admission.admitted) return admission.status;
    const caller = admission.identity.id;
    if (faults?.dropsFrom(caller))
      return errorToStatus(
        new UnavailableError("EAGAIN", "", `fault layer: calls from ${caller} are cut`),
      );
    return undefined;
  };
  /** Lets a client's call in when its capability allows `operation` on `chunkId`. */
  const admitClient = async (call: IncomingCall, chunkId: string, operation: ChunkOperation) => {
    const capability = call.metadata.get(CAPABILITY_HEADER)[0];
    if (!clients || typeof capability !== "string")
      throw fsError("EACCES", `chunk ${chunkId}`, "no chunk capability");
    await clients.checkCapability(capability, chunkId, operation);
  };
  const implementation: ChunkServiceServer = {
    writeChunk: (call, callback) => {
      const client = fromClient(call);
      const refused = client ? undefined : refusal(call);
      if (refused) return callback(refused);
      (async () => {
        let chunkId: string | undefined;
        const pieces: Buffer[] = [];
        let total = 0;
        for await (const message of call as AsyncIterable<ChunkServiceWriteChunkRequest>) {
          const part = message.part;
          if (part?.$case === "chunkId") {
            if (chunkId !== undefined) throw fsError("EINVAL", `chunk ${chunkId}`, "two chunk ids");
            chunkId = part.value;
            // A client's bytes are not taken in before its capability checks out.
            if (client) await admitClient(call, chunkId, "write");
          } else if (part?.$case === "data") {
            if (chunkId === undefined) throw fsError("EINVAL", "", "chunk data before its id");
            total += part.value.length;
            if (part.value.length > MAX_DATA_PIECE || total > MAX_CHUNK_SIZE)
              throw fsError("EINVAL", `chunk ${chunkId}`, "piece or chunk too large");
            pieces.push(Buffer.from(part.value));
          }
        }
        if (!chunkId) throw fsError("EINVAL", "", "chunk write without an id");
        const info = await store.writeChunk(chunkId, Buffer.concat(pieces, total));
        if (client) clients?.counters.countWritten(total);
        return { size: info.size, checksum: info.checksum };
      })().then(
        (response) => callback(null, response),
        (error) => callback(errorToStatus(error)),
      );
    },
    readChunk: (call) => {
      const client = fromClient(call);
      const refused = client ? undefined : refusal(call);
      if (refused) {
        call.emit("error", refused);
        return;
      }
      (async () => {
        const { chunkId, offset, length } = call.request;
        if (client) await admitClient(call, chunkId, "read");
        const bytes = await store.readChunk(chunkId, offset, length);
        if (client) clients?.counters.countRead(bytes.length);
        for (let at = 0; at < bytes.length; at += MAX_DATA_PIECE) {
          if (!call.write({ data: bytes.subarray(at, at + MAX_DATA_PIECE) }))
            await once(call, "drain");
        }
        call.end();
      })().catch((error) => call.emit("error", errorToStatus(error)));
    },
    listChunks: (call) => {
      const refused = refusal(call);
      if (refused) {
        call.emit("error", refused);
        return;
      }
      (async () => {
        const all = await store.listChunks();
        for (let at = 0; at < all.length; at += LIST_BATCH) {
          const chunks = all.slice(at, at + LIST_BATCH).map((chunk) => ({
            chunkId: chunk.id,
            size: chunk.size,
            writtenAtMs: chunk.writtenAtMs,
          }));
          if (!call.write({ chunks })) await once(call, "drain");
        }
        call.end();
      })().catch((error) => call.emit("error", errorToStatus(error)));
    },
    verifyChunk: (call, callback) => {
      const refused = refusal(call);
      if (refused) return callback(refused);
      verifyStoredCopy(store, call.request.chunkId, call.request.checksum).then(
        (size) => callback(null, { size }),
        (error) => callback(errorToStatus(error)),
      );
    },
    copyChunk: (call, callback) => {
      const refused = refusal(call);
      if (refused) return callback(refused);
      copyFromSources(store, auth, faults, call.request).then(
        (size) => callback(null, { size }),
        (error) => callback(errorToStatus(error)),
      );
    },
    deleteChunk: (call, callback) => {
      const client = fromClient(call);
      const refused = client ? undefined : refusal(call);
      if (refused) return callback(refused);
      const admitted = client
        ? admitClient(call, call.request.chunkId, "write")
        : Promise.resolve();
      admitted
        .then(() => store.deleteChunk(call.request.chunkId))
        .then(
          () => callback(null, {}),
          (error) => callback(errorToStatus(error)),
        );
    },
  };
  server.addService(BulkChunkServiceService, implementation);
}

/** How a `GrpcReplicaAccess` reaches chunk stores. */
export interface ReplicaRoutes {
  /** This node's own store, reached without the network; absent on a node that has none. */
  readonly local?: { readonly id: string; readonly store: ChunkStore };
  /** Where node `nodeId` listens now; undefined for a node not (or no longer) known. */
  readonly addressOf: (nodeId: string) => string | undefined;
  /** Channels as a node (`PeerAuth`), or a client's channel security. */
  readonly auth: Pick<PeerAuth, "channel" | "callMetadata">;
  /**
   * A client's grant book: each call carries the capability it holds for its chunk, instead
   * of a node's credentials proving anything.
   */
  readonly grants?: ChunkGrantBook;
  readonly faults?: FaultLayer;
  /**
   * Listings known without asking (data servers' block reports); a node that has none
   * fresh is asked (`ChunkService.ListChunks`).
   */
  readonly listings?: (nodeId: string) => readonly ChunkInfo[] | undefined;
}

/**
 * Reaches this node's store directly and every other node's over gRPC: a node's replica
 * access (with a fixed peer list, or data servers that come and go), or a client's.
 */
export class GrpcReplicaAccess implements ReplicaAccess {
  readonly localNodeId: string | undefined;
  private readonly local: ChunkStore | undefined;
  private readonly clients = new Map<string, { client: ChunkServiceClient; address: string }>();

  constructor(private readonly routes: ReplicaRoutes) {
    this.localNodeId = routes.local?.id;
    this.local = routes.local?.store;
  }

  /** A replica access for a node with its own store and a fixed list of peers. */
  static forPeers(
    localNodeId: string,
    local: ChunkStore,
    peers: ReadonlyMap<string, string>,
    auth: PeerAuth,
    faults?: FaultLayer,
  ): GrpcReplicaAccess {
    return new GrpcReplicaAccess({
      local: { id: localNodeId, store: local },
      addressOf: (nodeId) => peers.get(nodeId),
      auth,
      faults,
    });
  }

  private peer(nodeId: string, chunkId: string) {
    const address = this.routes.addressOf(nodeId);
    if (address === undefined)
      throw fsError("EAGAIN", `chunk ${chunkId}`, `no node ${nodeId} in the cluster`);
    if (this.routes.faults?.dropsTo(nodeId))
      throw new UnavailableError("EAGAIN", address, `fault layer: calls to ${nodeId} are cut`);
    let peer = this.clients.get(nodeId);
    if (peer?.address !== address) {
      // A node back at another address (a restarted data server) gets a new channel.
      peer?.client.close();
      const channel = this.routes.auth.channel(this.routes.grants ? undefined : nodeId);
      const client = new BulkChunkServiceClient(address, channel.credentials, {
        "grpc.max_receive_message_length": 2 * MAX_DATA_PIECE,
        "grpc.max_send_message_length": 2 * MAX_DATA_PIECE,
        "grpc-node.flow_control_window": RECEIVE_WINDOW_BYTES,
        ...RECONNECT_OPTIONS,
        ...channel.options,
      });
      peer = { client, address };
      this.clients.set(nodeId, peer);
    }
    return peer;
  }

  /**
   * What a call about `chunkId` carries: a node's credentials, or a client's capability for
   * `operation` (EACCES when the client holds none: the metadata granted it nothing).
   */
  private metadata(chunkId = "", operation: ChunkOperation | "delete" = "read"): grpc.Metadata {
    const metadata = this.routes.auth.callMetadata();
    const book = this.routes.grants;
    if (!book) return metadata;
    const grant = book.grant(chunkId, operation);
    if (!grant) throw fsError("EACCES", `chunk ${chunkId}`, `no capability to ${operation} it`);
    metadata.set(CAPABILITY_HEADER, grant.capability);
    return metadata;
  }

  async writeChunk(
    nodeId: string,
    chunkId: string,
    data: Uint8Array,
    connectWaitMs = 0,
  ): Promise<ChunkInfo> {
    if (this.local && nodeId === this.localNodeId) return this.local.writeChunk(chunkId, data);
    const { client, address } = this.peer(nodeId, chunkId);
    const metadata = this.metadata(chunkId, "write");
    if (connectWaitMs > 0) await connected(client, connectWaitMs);
    const reply = await new Promise<{ size: number; checksum: number }>((resolve, reject) => {
      const stream = client.writeChunk(
        metadata,
        { deadline: Date.now() + CALL_TIMEOUT_MS },
        (error, response) => (error ? reject(statusToError(error, address)) : resolve(response)),
      );
      stream.write({ part: { $case: "chunkId", value: chunkId } });
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      for (let at = 0; at < bytes.length; at += MAX_DATA_PIECE) {
        stream.write({ part: { $case: "data", value: bytes.subarray(at, at + MAX_DATA_PIECE) } });
      }
      stream.end();
    });
    return { id: chunkId, size: reply.size, checksum: reply.checksum, writtenAtMs: Date.now() };
  }

  async readChunk(
    nodeId: string,
    chunkId: string,
    offset: number,
    length: number,
  ): Promise<Buffer> {
    if (this.local && nodeId === this.localNodeId)
      return this.local.readChunk(chunkId, offset, length);
    const { client, address } = this.peer(nodeId, chunkId);
    const stream = client.readChunk({ chunkId, offset, length }, this.metadata(chunkId, "read"), {
      deadline: Date.now() + CALL_TIMEOUT_MS,
    });
    const parts: Buffer[] = [];
    try {
      for await (const message of stream as AsyncIterable<ChunkServiceReadChunkResponse>) {
        // A view, not a copy: the message's bytes are this read's alone.
        const data = message.data;
        parts.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      }
    } catch (error) {
      throw statusToError(error, address);
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async deleteChunk(nodeId: string, chunkId: string): Promise<void> {
    if (this.local && nodeId === this.localNodeId) return this.local.deleteChunk(chunkId);
    const { client, address } = this.peer(nodeId, chunkId);
    const metadata = this.metadata(chunkId, "delete");
    await new Promise<void>((resolve, reject) =>
      client.deleteChunk(
        { chunkId },
        metadata,
        { deadline: Date.now() + CALL_TIMEOUT_MS },
        (error) => (error ? reject(statusToError(error, address)) : resolve()),
      ),
    );
  }

  async verifyChunk(nodeId: string, chunkId: string, checksum: number): Promise<number> {
    if (this.local && nodeId === this.localNodeId)
      return verifyStoredCopy(this.local, chunkId, checksum);
    const { client, address } = this.peer(nodeId, chunkId);
    const reply = await new Promise<{ size: number }>((resolve, reject) =>
      client.verifyChunk(
        { chunkId, checksum },
        this.metadata(),
        { deadline: Date.now() + CALL_TIMEOUT_MS },
        (error, response) => (error ? reject(statusToError(error, address)) : resolve(response)),
      ),
    );
    return reply.size;
  }

  /**
   * Has node `nodeId` read a copy from `sources` itself (`ChunkService.CopyChunk`), or, when
   * it is this node, reads one and writes it here.
   */
  async copyChunk(
    nodeId: string,
    slot: ChunkSlot,
    sources: readonly string[],
    chunkSize: number,
  ): Promise<void> {
    if (this.local && nodeId === this.localNodeId)
      return copyThroughCaller(this, nodeId, slot, sources, chunkSize);
    const { client, address } = this.peer(nodeId, slot.chunkId);
    const known = sources.flatMap((id) => {
      const at = this.routes.addressOf(id);
      return at === undefined ? [] : [{ nodeId: id, address: at }];
    });
    if (known.length === 0)
      throw fsError("EAGAIN", `chunk ${slot.chunkId}`, "no source to copy from is known");
    await new Promise<void>((resolve, reject) =>
      client.copyChunk(
        { chunkId: slot.chunkId, checksum: slot.checksum, length: chunkSize, sources: known },
        this.metadata(slot.chunkId, "write"),
        // It reads a whole chunk from a source and writes it: two calls' worth.
        { deadline: Date.now() + 2 * CALL_TIMEOUT_MS },
        (error) => (error ? reject(statusToError(error, address)) : resolve()),
      ),
    );
  }

  async listChunks(nodeId: string): Promise<ChunkInfo[]> {
    if (this.local && nodeId === this.localNodeId) return this.local.listChunks();
    const reported = this.routes.listings?.(nodeId);
    if (reported) return [...reported];
    const { client, address } = this.peer(nodeId, "listing");
    const stream = client.listChunks({}, this.metadata(), {
      deadline: Date.now() + CALL_TIMEOUT_MS,
    });
    const out: ChunkInfo[] = [];
    try {
      for await (const message of stream as AsyncIterable<ChunkServiceListChunksResponse>) {
        for (const chunk of message.chunks) {
          // Checksums are not listed; a listing says what exists, reads verify the bytes.
          out.push({
            id: chunk.chunkId,
            size: chunk.size,
            checksum: 0,
            writtenAtMs: chunk.writtenAtMs,
          });
        }
      }
    } catch (error) {
      throw statusToError(error, address);
    }
    return out;
  }

  close(): void {
    for (const { client } of this.clients.values()) client.close();
  }
}

/**
 * Waits up to `waitMs` for `client`'s channel to connect when it is not connected; resolves
 * either way (the call that follows reports a node still unreachable). A call on a channel in
 * reconnect backoff fails at once, even to a node that came back a moment ago.
 */
function connected(client: grpc.Client, waitMs: number): Promise<void> {
  if (client.getChannel().getConnectivityState(true) === grpc.connectivityState.READY)
    return Promise.resolve();
  return new Promise((resolve) => client.waitForReady(Date.now() + waitMs, () => resolve()));
}
