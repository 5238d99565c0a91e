/**
 * The client's wiring: a `SandstoreClient` over the gRPC transport, the one a program gets
 * from `import { connect } from "sandstore"`.
 */
import { GrpcTransport } from "../transport/grpc-transport.ts";
import { SandstoreClient, type SandstoreClientOptions } from "./sandstore-client.ts";

/** A client of the cluster at `cluster` (`host:port` seeds, or one comma-separated string). */
export function connect(
  cluster: string | readonly string[],
  options: Omit<SandstoreClientOptions, "cluster" | "transport"> = {},
): SandstoreClient {
  const seeds =
    typeof cluster === "string"
      ? cluster
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : cluster;
  return new SandstoreClient({ ...options, cluster: seeds, transport: new GrpcTransport() });
}
