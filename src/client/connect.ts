/**
 * The client's wiring: a `SandstoreClient` over the gRPC transport, the one a program gets
 * from `import { connect } from "sandstore"`.
 */
import { clientChannelSecurity } from "../topologies/peer-credentials.ts";
import { GrpcTransport } from "../transport/grpc-transport.ts";
import { SandstoreClient, type SandstoreClientOptions } from "./sandstore-client.ts";

/** What `connect` takes beside the cluster's addresses. */
export interface ConnectOptions extends Omit<SandstoreClientOptions, "cluster" | "transport"> {
  /**
   * The cluster's CA certificate (a PEM file's path), for a cluster whose ports speak TLS
   * (nodes started with `--tls-dir`). Throws at once when the file is not a certificate.
   */
  readonly tlsCa?: string;
}

/** A client of the cluster at `cluster` (`host:port` seeds, or one comma-separated string). */
export function connect(
  cluster: string | readonly string[],
  options: ConnectOptions = {},
): SandstoreClient {
  const seeds =
    typeof cluster === "string"
      ? cluster
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : cluster;
  const { tlsCa, ...clientOptions } = options;
  const transport = new GrpcTransport({ channels: clientChannelSecurity(tlsCa) });
  return new SandstoreClient({ ...clientOptions, cluster: seeds, transport });
}
