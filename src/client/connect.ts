/**
 * The client's wiring: a `SandstoreClient` over the gRPC transport, the one a program gets
 * from `import { connect } from "sandstore"`.
 */
import { TwoPhaseCoordinator } from "../control/two-phase-coordinator.ts";
import { ChunkGrantBook } from "../data/chunk-grant-book.ts";
import { ReplicatedDataPlane } from "../data/replicated-data-plane.ts";
import { clientChannelSecurity } from "../topologies/peer-credentials.ts";
import type { ClientCredentials } from "../transport/file-service-api.ts";
import { GrpcReplicaAccess } from "../transport/grpc-chunk-service.ts";
import { RemoteControlPlane } from "../transport/grpc-metadata-service.ts";
import { clientCallMetadata, GrpcTransport } from "../transport/grpc-transport.ts";
import type { ChannelSecurity } from "../transport/peer-auth.ts";
import type { DirectDataPlaneFactory } from "./byte-paths.ts";
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
  const channels = clientChannelSecurity(tlsCa);
  const transport = new GrpcTransport({ channels });
  const credentials =
    profile === undefined
      ? clientOptions.credentials
      : readCredentials(credentialsFile ?? defaultCredentialsFile(), profile);
  return new SandstoreClient({
    ...clientOptions,
    credentials,
    cluster: seeds,
    transport,
    directDataPlane: directDataPlane(channels, credentials),
  });
}

/**
 * A client's own data plane, for clusters whose clients move bytes to the data servers: the
 * metadata leader's intents and plans (with their capabilities) through a remote control
 * plane, the bytes through the data servers' chunk service, the same two-phase write as a
 * node's.
 */
function directDataPlane(
  channels: ChannelSecurity,
  credentials: ClientCredentials | undefined,
): DirectDataPlaneFactory {
  return (metadataServers) => {
    const auth = {
      channel: (peerId?: string) => channels.channel(peerId),
      callMetadata: () => clientCallMetadata(credentials),
    };
    const grants = new ChunkGrantBook();
    const control = new RemoteControlPlane({ addresses: metadataServers, auth, grants });
    const replicas = new GrpcReplicaAccess({
      addressOf: (nodeId) => grants.addressOf(nodeId),
      auth,
      grants,
    });
    const coordinator = new TwoPhaseCoordinator(control, replicas);
    // Every byte goes to the data servers: none is held in the metadata, even a small write's.
    const plane = new ReplicatedDataPlane(control, coordinator, replicas, () => {}, false);
    return {
      plane,
      close() {
        replicas.close();
        control.close();
      },
    };
  };
}
