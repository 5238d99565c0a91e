/**
 * Raft messages between processes over gRPC: one long-lived client stream per peer, each
 * write a batch of the messages queued since the last one. Delivery is best effort, as Raft
 * expects: a peer that is down or slow loses messages beyond a bounded queue, and the stream
 * is re-established with backoff.
 *
 * Every stream must prove at its start that a node of the cluster opened it (peer-auth.ts);
 * one that does not is refused before any of its messages is read. A node speaks only as
 * itself: a message whose `from` is not the stream's authenticated node is dropped and
 * counted, so no caller can put words in the leader's mouth.
 */
import type * as grpc from "@grpc/grpc-js";
import {
  type RaftEntry,
  type RaftMessage,
  RaftServiceClient,
  RaftServiceService,
  type SendRequest,
  type SendResponse,
} from "../gen/sandstore/v1/raft.ts";
import type { Entry, Message, RaftTransport } from "../raft/node.ts";
import type { FaultLayer } from "./fault-file.ts";
import { bindServer, newGrpcServer, RECEIVE_WINDOW_BYTES } from "./grpc-server.ts";
import { admitPeer } from "./peer-admission.ts";
import { NODES_ONLY, type PeerAuth } from "./peer-auth.ts";
import type { ServiceTraffic } from "./transport.ts";

/** Bytes of messages in one stream write (a snapshot piece or an append fits whole). */
const BATCH_BYTES = 1024 * 1024;
/** Messages queued for one peer before new ones are dropped. */
const MAX_QUEUED_PER_PEER = 10_000;
/** A snapshot piece plus framing must fit in one gRPC message. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  "grpc-node.flow_control_window": RECEIVE_WINDOW_BYTES,
};

const TYPES = new Set<Message["type"]>([
  "vote",
  "preVote",
  "voteResp",
  "preVoteResp",
  "append",
  "appendResp",
  "heartbeat",
  "heartbeatResp",
  "snapshot",
  "snapshotResp",
  "timeoutNow",
  "readIndex",
  "readIndexResp",
]);

/** A Buffer view of bytes, without a copy. */
const view = (data: Uint8Array): Buffer =>
  Buffer.from(data.buffer, data.byteOffset, data.byteLength);

const toWireEntry = (e: Entry): RaftEntry => ({
  term: e.term,
  index: e.index,
  type: e.type,
  data: view(e.data),
});

/** Flattens a core message into the wire form. */
export function toWire(m: Message): RaftMessage {
  const wire: RaftMessage = {
    type: m.type,
    from: m.from,
    to: m.to,
    term: m.term,
    lastIndex: 0,
    lastTerm: 0,
    transfer: false,
    reject: false,
    prevIndex: 0,
    prevTerm: 0,
    entries: [],
    commit: 0,
    index: 0,
    hintIndex: 0,
    hintTerm: 0,
    context: "",
    meta: undefined,
    offset: 0,
    length: 0,
    data: Buffer.alloc(0),
    done: false,
    snapshotIndex: 0,
    received: 0,
  };
  switch (m.type) {
    case "vote":
    case "preVote":
      return { ...wire, lastIndex: m.lastIndex, lastTerm: m.lastTerm, transfer: m.transfer };
    case "voteResp":
    case "preVoteResp":
      return { ...wire, reject: m.reject };
    case "append":
      return {
        ...wire,
        prevIndex: m.prevIndex,
        prevTerm: m.prevTerm,
        entries: m.entries.map(toWireEntry),
        commit: m.commit,
      };
    case "appendResp":
      return {
        ...wire,
        reject: m.reject,
        index: m.index,
        hintIndex: m.hintIndex,
        hintTerm: m.hintTerm,
      };
    case "heartbeat":
      return { ...wire, commit: m.commit, context: m.context };
    case "heartbeatResp":
    case "readIndex":
      return { ...wire, context: m.context };
    case "readIndexResp":
      return { ...wire, context: m.context, index: m.index };
    case "snapshot":
      return {
        ...wire,
        meta: {
          index: m.meta.index,
          term: m.meta.term,
          size: m.meta.size,
          conf: { voters: [...m.meta.conf.voters], learners: [...m.meta.conf.learners] },
        },
        offset: m.offset,
        length: m.length,
        data: view(m.data),
        done: m.done,
      };
    case "snapshotResp":
      return { ...wire, snapshotIndex: m.snapshotIndex, received: m.received, reject: m.reject };
    case "timeoutNow":
      return wire;
  }
}

/** Rebuilds a core message from the wire; undefined for a malformed one (it is dropped). */
export function fromWire(w: RaftMessage): Message | undefined {
  const type = w.type as Message["type"];
  if (!TYPES.has(type) || !w.from || !w.to) return undefined;
  const base = { from: w.from, to: w.to, term: w.term };
  switch (type) {
    case "vote":
    case "preVote":
      return { ...base, type, lastIndex: w.lastIndex, lastTerm: w.lastTerm, transfer: w.transfer };
    case "voteResp":
    case "preVoteResp":
      return { ...base, type, reject: w.reject };
    case "append":
      return {
        ...base,
        type,
        prevIndex: w.prevIndex,
        prevTerm: w.prevTerm,
        commit: w.commit,
        entries: w.entries.map((e) => ({
          term: e.term,
          index: e.index,
          type: e.type === 1 ? 1 : 0,
          data: e.data,
        })),
      };
    case "appendResp":
      return {
        ...base,
        type,
        reject: w.reject,
        index: w.index,
        hintIndex: w.hintIndex,
        hintTerm: w.hintTerm,
      };
    case "heartbeat":
      return { ...base, type, commit: w.commit, context: w.context };
    case "heartbeatResp":
    case "readIndex":
      return { ...base, type, context: w.context };
    case "readIndexResp":
      return { ...base, type, context: w.context, index: w.index };
    case "snapshot": {
      if (!w.meta?.conf) return undefined;
      const meta = {
        index: w.meta.index,
        term: w.meta.term,
        size: w.meta.size,
        conf: { voters: w.meta.conf.voters, learners: w.meta.conf.learners },
      };
      return {
        ...base,
        type,
        meta,
        offset: w.offset,
        length: w.length,
        data: w.data,
        done: w.done,
      };
    }
    case "snapshotResp":
      return {
        ...base,
        type,
        snapshotIndex: w.snapshotIndex,
        received: w.received,
        reject: w.reject,
      };
    case "timeoutNow":
      return { ...base, type };
  }
}

interface Peer {
  readonly client: RaftServiceClient;
  stream: grpc.ClientWritableStream<SendRequest> | undefined;
  queue: RaftMessage[];
  flushScheduled: boolean;
  /** No stream before this time (backoff after a failure). */
  retryAt: number;
  backoffMs: number;
}

export interface GrpcRaftTransportOptions {
  readonly selfId: string;
  /** Where to listen, `host:port` (port 0 picks one). */
  readonly listen: string;
  /**
   * Raft address of a peer by id, or undefined for one not known (a message to it is
   * dropped, as to an unreachable peer). Asked on the first message to each peer: a member
   * added after start is reached once its address is known.
   */
  readonly addressOf: (id: string) => string | undefined;
  /** How this node proves itself to peers and checks the streams they open. */
  readonly auth: PeerAuth;
  readonly faults?: FaultLayer;
  /** Counts the bytes its own server's services move (`listen`); none when absent. */
  readonly traffic?: ServiceTraffic;
}

export class GrpcRaftTransport implements RaftTransport {
  private readonly peers = new Map<string, Peer>();
  private server: grpc.Server | undefined;
  /** The node's `receive`, once it has started (`receive`); until then arrivals are dropped. */
  private deliver: ((message: Message) => void) | undefined;
  /** Where the server listens, with the real port. */
  address = "";

  constructor(private readonly o: GrpcRaftTransportOptions) {}

  /** The connection to peer `id`, made on first use; undefined while its address is unknown. */
  private peer(id: string): Peer | undefined {
    const known = this.peers.get(id);
    if (known || id === this.o.selfId) return known;
    const address = this.o.addressOf(id);
    if (address === undefined || address === "") return undefined;
    const channel = this.o.auth.channel(id);
    const peer: Peer = {
      client: new RaftServiceClient(address, channel.credentials, {
        ...CHANNEL_OPTIONS,
        ...channel.options,
      }),
      stream: undefined,
      queue: [],
      flushScheduled: false,
      retryAt: 0,
      backoffMs: 50,
    };
    this.peers.set(id, peer);
    return peer;
  }

  receive(deliver: (message: Message) => void): void {
    this.deliver = deliver;
  }

  /** Registers RaftService on `server` (when the node shares one server for everything). */
  register(server: grpc.Server): void {
    server.addService(RaftServiceService, {
      send: (
        call: grpc.ServerReadableStream<SendRequest, SendResponse>,
        callback: grpc.sendUnaryData<SendResponse>,
      ) => {
        const admission = admitPeer(this.o.auth, call, NODES_ONLY, "Raft service");
        if (!admission.admitted) {
          callback(admission.status);
          return;
        }
        const caller = admission.identity;
        call.on("data", (request: SendRequest) => {
          for (const wire of request.messages) {
            if (wire.from !== caller.id) {
              this.o.auth.countForgedMessage();
              continue;
            }
            if (this.o.faults?.dropsFrom(wire.from)) continue;
            const message = fromWire(wire);
            if (message && message.to === this.o.selfId) this.deliver?.(message);
          }
        });
        call.on("end", () => callback(null, {}));
        call.on("error", () => undefined);
      },
    });
  }

  /**
   * Listens on its own server at `listen` (the key-value topology's Raft port), with the
   * services `extraServices` registers (the admin service) beside RaftService.
   */
  async listen(extraServices?: (server: grpc.Server) => void): Promise<void> {
    const server = newGrpcServer(CHANNEL_OPTIONS, this.o.traffic);
    extraServices?.(server);
    this.register(server);
    const port = await bindServer(
      server,
      this.o.listen,
      RECEIVE_WINDOW_BYTES,
      this.o.auth.serverCredentials(),
    );
    this.server = server;
    this.address = `${this.o.listen.slice(0, this.o.listen.lastIndexOf(":"))}:${port}`;
  }

  send(message: Message): void {
    if (this.o.faults?.dropsTo(message.to)) return;
    const peer = this.peer(message.to);
    if (!peer) return;
    if (peer.queue.length >= MAX_QUEUED_PER_PEER) return; // Raft resends what matters
    peer.queue.push(toWire(message));
    if (!peer.flushScheduled) {
      peer.flushScheduled = true;
      setImmediate(() => this.flush(peer));
    }
  }

  private flush(peer: Peer): void {
    peer.flushScheduled = false;
    if (peer.queue.length === 0) return;
    const stream = this.streamTo(peer);
    const messages = peer.queue.splice(0);
    if (!stream) return; // the peer is unreachable for now: these are lost
    // Writes of about 1 MiB at most, so a batch fits a server's message limit.
    let batch: RaftMessage[] = [];
    let bytes = 0;
    for (const message of messages) {
      const size =
        256 + message.data.length + message.entries.reduce((sum, e) => sum + 64 + e.data.length, 0);
      if (batch.length > 0 && bytes + size > BATCH_BYTES) {
        stream.write({ messages: batch });
        batch = [];
        bytes = 0;
      }
      batch.push(message);
      bytes += size;
    }
    if (batch.length > 0) stream.write({ messages: batch });
  }

  private streamTo(peer: Peer): grpc.ClientWritableStream<SendRequest> | undefined {
    if (peer.stream) return peer.stream;
    if (Date.now() < peer.retryAt) return undefined;
    const stream = peer.client.send(this.o.auth.callMetadata(), (error) => {
      if (peer.stream !== stream) return;
      peer.stream = undefined;
      if (error) {
        peer.retryAt = Date.now() + peer.backoffMs;
        peer.backoffMs = Math.min(1000, peer.backoffMs * 2);
      }
    });
    stream.on("error", () => undefined);
    peer.stream = stream;
    peer.backoffMs = 50;
    return stream;
  }

  async close(): Promise<void> {
    for (const peer of this.peers.values()) {
      peer.stream?.end();
      peer.client.close();
    }
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    this.o.faults?.close();
  }
}
