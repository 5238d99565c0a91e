/**
 * The `Transport` seam: carries `FileServiceApi` calls between processes (or not, for the
 * `memory` transport). Implementations: `grpc`, later `memory`.
 */
import type { ClientCredentials, FileServiceApi } from "./file-service-api.ts";

/** A bound server. */
export interface Listener {
  /** The address it listens on, with the real port when port 0 was asked for. */
  readonly address: string;
  /** Stops accepting calls and ends those in progress. */
  close(): Promise<void>;
}

/** A client's connection to one node. */
export interface Connection extends FileServiceApi {
  readonly address: string;
  close(): void;
}

/** Per-call options of a connection. */
export interface ConnectOptions {
  /** Deadline of one call in ms, streaming calls included. Default 60,000. */
  readonly callTimeoutMs?: number;
  /** The user's access key and secret, sent with every call (clusters with `--auth required`). */
  readonly credentials?: ClientCredentials;
}

/**
 * Counts the bytes a server's services move, for metrics: `service` is the gRPC service's
 * short name (`FileService`, `ChunkService`, `RaftService`...), bytes are encoded messages.
 * Called on every message: it must be cheap and must not throw.
 */
export interface ServiceTraffic {
  received(service: string, bytes: number): void;
  sent(service: string, bytes: number): void;
}

export interface Transport {
  /**
   * Serves `api` on `address` (`host:port`; port 0 picks one). `internal` registers the
   * node-to-node services (Raft, chunk replicas) on the same server, when the topology has them.
   */
  listen(
    address: string,
    api: FileServiceApi,
    internal?: (server: unknown) => void,
  ): Promise<Listener>;
  /** A connection to the node at `address`; connects lazily, reconnects on its own. */
  connect(address: string, options?: ConnectOptions): Connection;
}
