/**
 * The `grpc` Transport: `FileServiceApi` over gRPC with the generated FileService contract.
 *
 * Errors travel as gRPC statuses with trailers: `sandstore-errno` (a POSIX name or
 * NOT_LEADER), `sandstore-path-bin` and `sandstore-detail-bin` (UTF-8), `sandstore-leader`
 * (the leader's address). The receiving side rebuilds the typed error, so no code parses a
 * message text.
 */
import { once } from "node:events";
import * as grpc from "@grpc/grpc-js";
import {
  fsError,
  isErrno,
  NotLeaderError,
  SandstoreError,
  UnavailableError,
} from "../common/errors.ts";
import { MAX_DATA_PIECE } from "../data/data-plane.ts";
import type {
  CreateRequest,
  FileServiceClient,
  FileServiceServer,
  LinkRequest,
  MkdirRequest,
  MknodRequest,
  PlacementRequest,
  ReadDirRequest,
  ReadRequest,
  ReadResponse,
  RenameRequest,
  RmdirRequest,
  SetAttrRequest,
  StatRequest,
  StatusRequest,
  SymlinkRequest,
  UnlinkRequest,
  WriteChunkHeader,
  WriteChunkRequest,
} from "../gen/sandstore/v1/file_service.ts";
import { MAX_CHUNK_SIZE } from "../metadata/cluster-settings.ts";
import { BulkFileServiceClient, BulkFileServiceService } from "./bulk-data-codec.ts";
import type { CallInfo, ClientCredentials, FileServiceApi } from "./file-service-api.ts";
import { bindServer, newGrpcServer, RECEIVE_WINDOW_BYTES } from "./grpc-server.ts";
import { type ChannelSecurity, PLAINTEXT_CHANNELS } from "./peer-auth.ts";
import type {
  Connection,
  ConnectOptions,
  Listener,
  ServiceTraffic,
  Transport,
} from "./transport.ts";

/**
 * A data piece plus framing fits well inside this, and so does a batch of Raft messages when
 * the server also carries the internal services; larger messages are refused.
 */
const MAX_MESSAGE_BYTES = 4 * MAX_DATA_PIECE;

/**
 * Reconnect backoff of every channel to a node: a node that restarts is reached again within
 * a second, instead of after grpc's default backoff of up to two minutes.
 */
export const RECONNECT_OPTIONS: grpc.ChannelOptions = {
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1000,
};

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  ...RECONNECT_OPTIONS,
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  // HTTP/2's default 64 KiB window makes a chunk-sized stream wait on many window updates.
  "grpc-node.flow_control_window": RECEIVE_WINDOW_BYTES,
};

const STATUS_OF_ERRNO: Record<string, grpc.status> = {
  ENOENT: grpc.status.NOT_FOUND,
  EEXIST: grpc.status.ALREADY_EXISTS,
  EINVAL: grpc.status.INVALID_ARGUMENT,
  ENAMETOOLONG: grpc.status.INVALID_ARGUMENT,
  EACCES: grpc.status.PERMISSION_DENIED,
  EPERM: grpc.status.PERMISSION_DENIED,
  ENOSPC: grpc.status.RESOURCE_EXHAUSTED,
  EIO: grpc.status.DATA_LOSS,
  EAGAIN: grpc.status.UNAVAILABLE,
  ETIMEDOUT: grpc.status.DEADLINE_EXCEEDED,
};

/** Turns any error into a gRPC status carrying the typed error in its trailers. */
export function errorToStatus(error: unknown): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (error instanceof SandstoreError) {
    metadata.set("sandstore-errno", error.code);
    metadata.set("sandstore-path-bin", Buffer.from(error.path));
    metadata.set("sandstore-detail-bin", Buffer.from(error.detail));
    return {
      code: STATUS_OF_ERRNO[error.code] ?? grpc.status.FAILED_PRECONDITION,
      details: error.message,
      metadata,
    };
  }
  if (error instanceof UnavailableError) {
    metadata.set("sandstore-errno", "UNAVAILABLE");
    metadata.set("sandstore-unavailable", error.errno);
    metadata.set("sandstore-detail-bin", Buffer.from(error.message));
    const code =
      error.errno === "ETIMEDOUT" ? grpc.status.DEADLINE_EXCEEDED : grpc.status.UNAVAILABLE;
    return { code, details: error.message, metadata };
  }
  if (error instanceof NotLeaderError) {
    metadata.set("sandstore-errno", "NOT_LEADER");
    metadata.set("sandstore-leader", error.leaderAddress);
    metadata.set("sandstore-leader-id", error.leaderId);
    return { code: grpc.status.FAILED_PRECONDITION, details: error.message, metadata };
  }
  return {
    code: grpc.status.INTERNAL,
    details: error instanceof Error ? error.message : String(error),
    metadata,
  };
}

function text(metadata: grpc.Metadata | undefined, key: string): string {
  const value = metadata?.get(key)[0];
  return value === undefined ? "" : Buffer.isBuffer(value) ? value.toString("utf8") : value;
}

/** Rebuilds the typed error a status carries; transport failures become UnavailableError. */
export function statusToError(error: unknown, address: string): Error {
  const status = error as Partial<grpc.ServiceError>;
  if (typeof status?.code !== "number")
    return error instanceof Error ? error : new Error(String(error));
  const errno = text(status.metadata, "sandstore-errno");
  if (errno === "NOT_LEADER") {
    return new NotLeaderError(
      text(status.metadata, "sandstore-leader-id"),
      text(status.metadata, "sandstore-leader"),
    );
  }
  if (errno === "UNAVAILABLE") {
    const timedOut = text(status.metadata, "sandstore-unavailable") === "ETIMEDOUT";
    return new UnavailableError(
      timedOut ? "ETIMEDOUT" : "EAGAIN",
      address,
      text(status.metadata, "sandstore-detail-bin"),
    );
  }
  if (isErrno(errno)) {
    return new SandstoreError(
      errno,
      text(status.metadata, "sandstore-path-bin"),
      text(status.metadata, "sandstore-detail-bin"),
    );
  }
  switch (status.code) {
    case grpc.status.UNAVAILABLE:
      return new UnavailableError("EAGAIN", address, `unreachable: ${status.details ?? ""}`);
    case grpc.status.DEADLINE_EXCEEDED:
      return new UnavailableError("ETIMEDOUT", address, "did not answer in time");
    case grpc.status.RESOURCE_EXHAUSTED:
      return fsError("EINVAL", "", `message refused by ${address}: ${status.details ?? ""}`);
    case grpc.status.CANCELLED:
      return new UnavailableError("EAGAIN", address, "call cancelled");
    default:
      return fsError("EIO", "", `node ${address}: ${status.details ?? "internal error"}`);
  }
}

/** Metadata keys of a client's credentials on FileService calls. */
const ACCESS_KEY_HEADER = "sandstore-access-key";
const SECRET_HEADER = "sandstore-secret";
/** Longest access key id or secret read from a call: longer ones are not credentials. */
const MAX_CREDENTIAL_LENGTH = 256;

/**
 * The metadata a client's call carries: its credentials, when it has them (a fresh object
 * each time). What every client-facing service reads (`callInfo`).
 */
export function clientCallMetadata(credentials: ClientCredentials | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (credentials) {
    metadata.set(ACCESS_KEY_HEADER, credentials.accessKeyId);
    metadata.set(SECRET_HEADER, credentials.secret);
  }
  return metadata;
}

/** Who made a server call: its credentials, if it carried any, and its peer's address. */
export function callInfo(call: { metadata: grpc.Metadata; getPeer(): string }): CallInfo {
  const accessKeyId = call.metadata.get(ACCESS_KEY_HEADER)[0];
  const secret = call.metadata.get(SECRET_HEADER)[0];
  // The peer is "ipv4:127.0.0.1:5000": failed attempts are counted per host, not per port.
  const peer = call.getPeer();
  const source = peer.slice(0, Math.max(peer.lastIndexOf(":"), 0)) || peer;
  if (
    typeof accessKeyId !== "string" ||
    typeof secret !== "string" ||
    accessKeyId.length > MAX_CREDENTIAL_LENGTH ||
    secret.length > MAX_CREDENTIAL_LENGTH
  )
    return { source };
  return { source, credentials: { accessKeyId, secret } };
}

function unary<Req, Res>(
  handler: (request: Req, call: CallInfo) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    handler(call.request, callInfo(call)).then(
      (response) => callback(null, response),
      (error) => callback(errorToStatus(error)),
    );
  };
}

function serverImplementation(api: FileServiceApi): FileServiceServer {
  return {
    stat: unary((r, c) => api.stat(r, c)),
    create: unary((r, c) => api.create(r, c)),
    mkdir: unary((r, c) => api.mkdir(r, c)),
    rmdir: unary(async (r, c) => {
      await api.rmdir(r, c);
      return {};
    }),
    unlink: unary(async (r, c) => {
      await api.unlink(r, c);
      return {};
    }),
    rename: unary(async (r, c) => {
      await api.rename(r, c);
      return {};
    }),
    link: unary((r, c) => api.link(r, c)),
    symlink: unary((r, c) => api.symlink(r, c)),
    mknod: unary((r, c) => api.mknod(r, c)),
    setAttr: unary((r, c) => api.setAttr(r, c)),
    readDir: unary((r, c) => api.readDir(r, c)),
    status: unary((r) => api.status(r)),
    placement: unary((r, c) => api.placement(r, c)),
    writeChunk: (call, callback) => {
      collectWrite(call)
        .then(({ header, data }) => api.writeChunk(header, data, callInfo(call)))
        .then(
          (response) => callback(null, response),
          (error) => callback(errorToStatus(error)),
        );
    },
    read: (call) => {
      (async () => {
        for await (const data of api.read(call.request, callInfo(call))) {
          if (call.cancelled) return;
          if (!call.write({ data })) await once(call, "drain");
        }
        call.end();
      })().catch((error) => call.emit("error", errorToStatus(error)));
    },
  };
}

/** Reads a WriteChunk stream: a header, then data pieces; bounded in piece and total size. */
async function collectWrite(
  call: grpc.ServerReadableStream<WriteChunkRequest, unknown>,
): Promise<{ header: WriteChunkHeader; data: Buffer }> {
  let header: WriteChunkHeader | undefined;
  const pieces: Buffer[] = [];
  let total = 0;
  for await (const message of call as AsyncIterable<WriteChunkRequest>) {
    const part = message.part;
    if (part?.$case === "header") {
      if (header) throw fsError("EINVAL", part.value.path, "second header in one write");
      header = part.value;
    } else if (part?.$case === "data") {
      if (!header) throw fsError("EINVAL", "", "write data before its header");
      if (part.value.length > MAX_DATA_PIECE)
        throw fsError("EINVAL", header.path, "data piece over 1 MiB");
      total += part.value.length;
      if (total > MAX_CHUNK_SIZE) throw fsError("EINVAL", header.path, "write larger than a chunk");
      pieces.push(Buffer.from(part.value));
    }
  }
  if (!header) throw fsError("EINVAL", "", "write without a header");
  return { header, data: Buffer.concat(pieces, total) };
}

/** A connection to one node over a long-lived gRPC channel. */
class GrpcConnection implements Connection {
  private readonly client: FileServiceClient;
  private readonly timeoutMs: number;
  private readonly credentials: ClientCredentials | undefined;

  constructor(
    readonly address: string,
    options: ConnectOptions | undefined,
    security: ChannelSecurity,
  ) {
    this.credentials = options?.credentials;
    const channel = security.channel();
    this.client = new BulkFileServiceClient(address, channel.credentials, {
      ...CHANNEL_OPTIONS,
      ...channel.options,
    });
    this.timeoutMs = options?.callTimeoutMs ?? 60_000;
  }

  private callOptions(): grpc.CallOptions {
    return { deadline: Date.now() + this.timeoutMs };
  }

  /** Metadata of every call: the client's credentials, when it has them. */
  private metadata(): grpc.Metadata {
    return clientCallMetadata(this.credentials);
  }

  /** Runs one unary call with the deadline, rebuilding typed errors. */
  private unary<Req, Res>(
    method: (
      request: Req,
      metadata: grpc.Metadata,
      options: Partial<grpc.CallOptions>,
      callback: (error: grpc.ServiceError | null, response: Res) => void,
    ) => grpc.ClientUnaryCall,
    request: Req,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      method.call(this.client, request, this.metadata(), this.callOptions(), (error, response) =>
        error ? reject(statusToError(error, this.address)) : resolve(response),
      );
    });
  }

  stat(request: StatRequest) {
    return this.unary(this.client.stat, request);
  }
  create(request: CreateRequest) {
    return this.unary(this.client.create, request);
  }
  mkdir(request: MkdirRequest) {
    return this.unary(this.client.mkdir, request);
  }
  async rmdir(request: RmdirRequest) {
    await this.unary(this.client.rmdir, request);
  }
  async unlink(request: UnlinkRequest) {
    await this.unary(this.client.unlink, request);
  }
  async rename(request: RenameRequest) {
    await this.unary(this.client.rename, request);
  }
  link(request: LinkRequest) {
    return this.unary(this.client.link, request);
  }
  symlink(request: SymlinkRequest) {
    return this.unary(this.client.symlink, request);
  }
  mknod(request: MknodRequest) {
    return this.unary(this.client.mknod, request);
  }
  setAttr(request: SetAttrRequest) {
    return this.unary(this.client.setAttr, request);
  }
  readDir(request: ReadDirRequest) {
    return this.unary(this.client.readDir, request);
  }
  status(request: StatusRequest = { withStateHash: false, withEvents: false }) {
    return this.unary(this.client.status, request);
  }
  placement(request: PlacementRequest) {
    return this.unary(this.client.placement, request);
  }

  writeChunk(header: WriteChunkHeader, data: Buffer): ReturnType<FileServiceApi["writeChunk"]> {
    return new Promise((resolve, reject) => {
      const stream = this.client.writeChunk(
        this.metadata(),
        this.callOptions(),
        (error, response) =>
          error ? reject(statusToError(error, this.address)) : resolve(response),
      );
      stream.write({ part: { $case: "header", value: header } });
      for (let offset = 0; offset < data.length; offset += MAX_DATA_PIECE) {
        stream.write({
          part: { $case: "data", value: data.subarray(offset, offset + MAX_DATA_PIECE) },
        });
      }
      stream.end();
    });
  }

  async *read(request: ReadRequest): AsyncIterable<Buffer> {
    const stream = this.client.read(request, this.metadata(), this.callOptions());
    try {
      for await (const message of stream as AsyncIterable<ReadResponse>) {
        yield Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
      }
    } catch (error) {
      throw statusToError(error, this.address);
    } finally {
      stream.cancel();
    }
  }

  close(): void {
    this.client.close();
  }
}

/** How a `GrpcTransport` secures its servers and its connections. Default: plaintext. */
export interface GrpcTransportSecurity {
  /** Credentials of the servers it binds (TLS on a cluster with `--tls-dir`). */
  readonly server?: grpc.ServerCredentials;
  /** How its connections reach nodes. */
  readonly channels?: ChannelSecurity;
  /** Counts the bytes its servers' services move (metrics); none when absent. */
  readonly traffic?: ServiceTraffic;
}

export class GrpcTransport implements Transport {
  constructor(private readonly security: GrpcTransportSecurity = {}) {}

  async listen(
    address: string,
    api: FileServiceApi,
    internal?: (server: grpc.Server) => void,
  ): Promise<Listener> {
    const server = newGrpcServer(CHANNEL_OPTIONS, this.security.traffic);
    server.addService(BulkFileServiceService, serverImplementation(api));
    internal?.(server);
    const port = await bindServer(
      server,
      address,
      RECEIVE_WINDOW_BYTES,
      this.security.server ?? grpc.ServerCredentials.createInsecure(),
    );
    const host = address.slice(0, address.lastIndexOf(":"));
    return {
      address: `${host}:${port}`,
      close: () =>
        new Promise<void>((resolve) => {
          // Calls in progress get a grace period to finish, then are cut off.
          const timer = setTimeout(() => server.forceShutdown(), 2000);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        }),
    };
  }

  connect(address: string, options?: ConnectOptions): Connection {
    return new GrpcConnection(address, options, this.security.channels ?? PLAINTEXT_CHANNELS);
  }
}
