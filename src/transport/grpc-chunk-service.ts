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
import { MAX_DATA_PIECE } from "../data/data-plane.ts";
import { type ReplicaAccess, verifyStoredCopy } from "../data/replica-access.ts";
import type {
  ChunkServiceClient,
  ChunkServiceListChunksResponse,
  ChunkServiceReadChunkResponse,
  ChunkServiceServer,
  ChunkServiceWriteChunkRequest,
} from "../gen/sandstore/v1/chunk_service.ts";
import { MAX_CHUNK_SIZE } from "../metadata/cluster-settings.ts";
import { BulkChunkServiceClient, BulkChunkServiceService } from "./bulk-data-codec.ts";
import type { FaultLayer } from "./fault-file.ts";
import { RECEIVE_WINDOW_BYTES } from "./grpc-server.ts";
import { errorToStatus, RECONNECT_OPTIONS, statusToError } from "./grpc-transport.ts";
import { admitPeer } from "./peer-admission.ts";
import { type IncomingCall, NODES_ONLY, type PeerAuth } from "./peer-auth.ts";

/** Deadline of one replica call. */
const CALL_TIMEOUT_MS = 30_000;
/** Chunks per ListChunks message: bounds one message at about 64 KiB. */
const LIST_BATCH = 1000;

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
): void {
  /** Why a call is refused, as a status; undefined when it may proceed. */
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
  const implementation: ChunkServiceServer = {
    writeChunk: (call, callback) => {
      const refused = refusal(call);
      if (refused) return callback(refused);
      (async () => {
        let chunkId: string | undefined;
        const pieces: Buffer[] = [];
        let total = 0;
        for await (const message of call as AsyncIterable<ChunkServiceWriteChunkRequest>) {
          const part = message.part;
          if (part?.$case === "chunkId") chunkId = part.value;
          else if (part?.$case === "data") {
            total += part.value.length;
            if (part.value.length > MAX_DATA_PIECE || total > MAX_CHUNK_SIZE)
              throw fsError("EINVAL", `chunk ${chunkId}`, "piece or chunk too large");
            pieces.push(Buffer.from(part.value));
          }
        }
        if (!chunkId) throw fsError("EINVAL", "", "chunk write without an id");
        const info = await store.writeChunk(chunkId, Buffer.concat(pieces, total));
        return { size: info.size, checksum: info.checksum };
      })().then(
        (response) => callback(null, response),
        (error) => callback(errorToStatus(error)),
      );
    },
    readChunk: (call) => {
      const refused = refusal(call);
      if (refused) {
        call.emit("error", refused);
        return;
      }
      (async () => {
        const { chunkId, offset, length } = call.request;
        const bytes = await store.readChunk(chunkId, offset, length);
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
    deleteChunk: (call, callback) => {
      const refused = refusal(call);
      if (refused) return callback(refused);
      store.deleteChunk(call.request.chunkId).then(
        () => callback(null, {}),
        (error) => callback(errorToStatus(error)),
      );
    },
  };
  server.addService(BulkChunkServiceService, implementation);
}

/** Reaches this node's store directly and every other node's over gRPC. */
export class GrpcReplicaAccess implements ReplicaAccess {
  private readonly clients = new Map<string, { client: ChunkServiceClient; address: string }>();

  constructor(
    readonly localNodeId: string,
    private readonly local: ChunkStore,
    peers: ReadonlyMap<string, string>,
    private readonly auth: PeerAuth,
    private readonly faults?: FaultLayer,
  ) {
    for (const [id, address] of peers) {
      if (id === localNodeId) continue;
      const channel = auth.channel(id);
      const client = new BulkChunkServiceClient(address, channel.credentials, {
        "grpc.max_receive_message_length": 2 * MAX_DATA_PIECE,
        "grpc.max_send_message_length": 2 * MAX_DATA_PIECE,
        "grpc-node.flow_control_window": RECEIVE_WINDOW_BYTES,
        ...RECONNECT_OPTIONS,
        ...channel.options,
      });
      this.clients.set(id, { client, address });
    }
  }

  private peer(nodeId: string, chunkId: string) {
    const peer = this.clients.get(nodeId);
    if (!peer) throw fsError("EAGAIN", `chunk ${chunkId}`, `no node ${nodeId} in the cluster`);
    if (this.faults?.dropsTo(nodeId))
      throw new UnavailableError("EAGAIN", peer.address, `fault layer: calls to ${nodeId} are cut`);
    return peer;
  }

  private metadata(): grpc.Metadata {
    return this.auth.callMetadata();
  }

  async writeChunk(
    nodeId: string,
    chunkId: string,
    data: Uint8Array,
    connectWaitMs = 0,
  ): Promise<ChunkInfo> {
    if (nodeId === this.localNodeId) return this.local.writeChunk(chunkId, data);
    const { client, address } = this.peer(nodeId, chunkId);
    if (connectWaitMs > 0) await connected(client, connectWaitMs);
    const reply = await new Promise<{ size: number; checksum: number }>((resolve, reject) => {
      const stream = client.writeChunk(
        this.metadata(),
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
    if (nodeId === this.localNodeId) return this.local.readChunk(chunkId, offset, length);
    const { client, address } = this.peer(nodeId, chunkId);
    const stream = client.readChunk({ chunkId, offset, length }, this.metadata(), {
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
    if (nodeId === this.localNodeId) return this.local.deleteChunk(chunkId);
    const { client, address } = this.peer(nodeId, chunkId);
    await new Promise<void>((resolve, reject) =>
      client.deleteChunk(
        { chunkId },
        this.metadata(),
        { deadline: Date.now() + CALL_TIMEOUT_MS },
        (error) => (error ? reject(statusToError(error, address)) : resolve()),
      ),
    );
  }

  async verifyChunk(nodeId: string, chunkId: string, checksum: number): Promise<number> {
    if (nodeId === this.localNodeId) return verifyStoredCopy(this.local, chunkId, checksum);
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

  async listChunks(nodeId: string): Promise<ChunkInfo[]> {
    if (nodeId === this.localNodeId) return this.local.listChunks();
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
