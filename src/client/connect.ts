/**
 * The client's wiring: a `SandstoreClient` over the gRPC transport, the one a program gets
 * from `import { connect } from "sandstore"`.
 */
import { clientChannelSecurity } from "../topologies/peer-credentials.ts";
import { GrpcTransport } from "../transport/grpc-transport.ts";
import { defaultCredentialsFile, readCredentials } from "./credentials-file.ts";
import { SandstoreClient, type SandstoreClientOptions } from "./sandstore-client.ts";

/** What `connect` takes beside the cluster's addresses. */
export interface ConnectOptions extends Omit<SandstoreClientOptions, "cluster" | "transport"> {
  /**
   * The cluster's CA certificate (a PEM file's path), for a cluster whose ports speak TLS
   * (nodes started with `--tls-dir`). Throws at once when the file is not a certificate.
   */
  readonly tlsCa?: string;
  /**
   * A profile of the credentials file to call as (`sandstore user add --save` writes them),
   * instead of `credentials`. Throws CredentialsFileError at once when it is missing.
   */
  readonly profile?: string;
  /** Where `profile` is read from. Default `~/.sandstore/credentials`. */
  readonly credentialsFile?: string;
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
  const { tlsCa, profile, credentialsFile, ...clientOptions } = options;
  const transport = new GrpcTransport({ channels: clientChannelSecurity(tlsCa) });
  const credentials =
    profile === undefined
      ? clientOptions.credentials
      : readCredentials(credentialsFile ?? defaultCredentialsFile(), profile);
  return new SandstoreClient({ ...clientOptions, credentials, cluster: seeds, transport });
}
