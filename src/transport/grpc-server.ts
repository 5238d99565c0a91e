/**
 * Binding a gRPC server with a receive window fit for chunk streams.
 *
 * grpc-js honours `grpc-node.flow_control_window` on channels (what a client receives) but
 * not on servers (grpc/grpc-node#3058, open): a server's HTTP/2 sessions keep Node's
 * 64 KiB windows, so a client streaming a chunk to it stalls for a WINDOW_UPDATE round trip
 * every 64 KiB. Measured here, an 8 MiB chunk took about 400 ms to reach a peer while both
 * processes sat idle. Until grpc-js reads the option, each session's windows are raised
 * when it opens, through the server's HTTP/2 servers.
 */
import type { Http2Server, ServerHttp2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import type { ServiceTraffic } from "./transport.ts";

/**
 * Receive window of every channel and server here, per stream and per connection: two 8 MiB
 * chunks in flight on one connection without waiting for a window update.
 */
export const RECEIVE_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * Calls in progress on one client connection (HTTP/2's SETTINGS_MAX_CONCURRENT_STREAMS): one
 * connection cannot hold an unbounded number of handlers and buffers on a node. Well above
 * what the SDK keeps in flight (128 mutations, 2 flushes and 4 read pieces per descriptor),
 * even with many clients of one process sharing a connection, as grpc-js's channels do. A
 * stream past the limit is refused by the server's HTTP/2 layer before any handler runs.
 */
export const MAX_STREAMS_PER_CONNECTION = 1024;

/** Node's HTTP/2 limit on a flow-control window (2^31 - 1 bytes, RFC 9113 §6.9.1). */
const MAX_WINDOW_BYTES = 2 ** 31 - 1;

/**
 * Binds `server` to `address` (host:port, port 0 for any) with `credentials` (TLS or not)
 * and resolves to the bound port. Every HTTP/2 session the server accepts then offers a receive window of
 * `receiveWindowBytes`, per stream and per connection. Throws a RangeError for a window
 * outside [65,535, 2^31 - 1], and an Error when this grpc-js keeps its HTTP/2 servers
 * somewhere else (a grpc-js upgrade to check), rather than run with small windows unnoticed.
 */
export async function bindServer(
  server: grpc.Server,
  address: string,
  receiveWindowBytes: number,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  if (
    !Number.isSafeInteger(receiveWindowBytes) ||
    receiveWindowBytes < 65_535 ||
    receiveWindowBytes > MAX_WINDOW_BYTES
  ) {
    throw new RangeError(`receive window ${receiveWindowBytes} B is outside [65535, 2^31 - 1]`);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  // grpc-js's private field, checked at the boundary: a Map whose keys are Node's servers.
  const http2Servers: unknown = Reflect.get(server, "http2Servers");
  if (!(http2Servers instanceof Map) || http2Servers.size === 0) {
    server.forceShutdown();
    throw new Error(
      "this @grpc/grpc-js keeps no http2Servers map: the server receive window cannot be raised (see src/transport/grpc-server.ts)",
    );
  }
  for (const http2Server of http2Servers.keys() as Iterable<Http2Server>) {
    http2Server.on("session", (session: ServerHttp2Session) => {
      session.settings({
        initialWindowSize: receiveWindowBytes,
        maxConcurrentStreams: MAX_STREAMS_PER_CONNECTION,
      });
      session.setLocalWindowSize(receiveWindowBytes);
    });
  }
  return port;
}

/** The short name of the service a method path names: `/sandstore.v1.FileService/Read` → `FileService`. */
function serviceName(methodPath: string): string {
  const service = methodPath.split("/")[1] ?? "";
  return service.slice(service.lastIndexOf(".") + 1) || "unknown";
}

/**
 * A gRPC server that counts the encoded bytes each of its services receives and sends
 * (`traffic`), by wrapping every method's (de)serializer as services are added: nothing in a
 * service's handlers needs to know it is counted.
 */
export class MeteredServer extends grpc.Server {
  constructor(
    options: grpc.ServerOptions,
    private readonly traffic: ServiceTraffic,
  ) {
    super(options);
  }

  override addService(
    service: grpc.ServiceDefinition,
    implementation: grpc.UntypedServiceImplementation,
  ): void {
    const metered = Object.fromEntries(
      Object.entries(service).map(([method, definition]) => {
        const name = serviceName(definition.path);
        const { requestDeserialize, responseSerialize } = definition;
        return [
          method,
          {
            ...definition,
            requestDeserialize: (bytes: Buffer) => {
              this.traffic.received(name, bytes.length);
              return requestDeserialize(bytes);
            },
            responseSerialize: (value: unknown) => {
              const bytes = responseSerialize(value);
              this.traffic.sent(name, bytes.length);
              return bytes;
            },
          },
        ];
      }),
    );
    super.addService(metered, implementation);
  }
}

/** A gRPC server with `options`, counting its services' bytes into `traffic` when given. */
export function newGrpcServer(options: grpc.ServerOptions, traffic?: ServiceTraffic): grpc.Server {
  return traffic ? new MeteredServer(options, traffic) : new grpc.Server(options);
}
