/**
 * Random and malformed messages thrown at a real node's public and internal services
 * (issue 14, "bad input at the edge"): the node never crashes, its state never changes, and
 * every answer is typed: a reply, an error carrying a POSIX code, a refusal at the trust
 * boundary, or gRPC's own refusal of bytes that do not decode. Seeded, so a failure replays.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { normalizePath } from "../src/common/paths.ts";
import { AdminServiceService } from "../src/gen/sandstore/v1/admin.ts";
import { ChunkServiceService } from "../src/gen/sandstore/v1/chunk_service.ts";
import { FileServiceService } from "../src/gen/sandstore/v1/file_service.ts";
import { MetadataServiceService } from "../src/gen/sandstore/v1/metadata_service.ts";
import { RaftServiceService } from "../src/gen/sandstore/v1/raft.ts";
import { operatorPeerAuth } from "../src/topologies/peer-credentials.ts";
import { AdminClient } from "../src/transport/grpc-admin-service.ts";
import { Cluster } from "./helpers/hyperconverged-cluster.ts";

/** One method of a service, as the generated definitions describe it. */
interface Method {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestDeserialize: (bytes: Buffer) => unknown;
}

const methodsOf = (service: Record<string, Method>): Method[] => Object.values(service);
const PUBLIC = methodsOf(FileServiceService);
const INTERNAL = [
  ...methodsOf(RaftServiceService),
  ...methodsOf(ChunkServiceService),
  ...methodsOf(AdminServiceService),
  ...methodsOf(MetadataServiceService),
];
/** FileService requests whose field 1 is a path (Rename's is `from`). */
const PATH_FIRST = new Set(
  ["Stat", "Create", "Mkdir", "Rmdir", "Unlink", "Rename", "SetAttr", "ReadDir"].map(
    (name) => `/sandstore.v1.FileService/${name}`,
  ),
);

/** What a call came back with. */
interface Outcome {
  readonly code: grpc.status;
  readonly errno: string;
}

const identity = (bytes: Buffer) => bytes;

/** Calls `method` at `address` with `payload` as the raw request, whatever its kind. */
function call(client: grpc.Client, method: Method, payload: Buffer): Promise<Outcome> {
  const metadata = new grpc.Metadata();
  const options = { deadline: Date.now() + 5000 };
  return new Promise((resolve) => {
    let settled = false;
    const settle = (error: grpc.ServiceError | null) => {
      if (settled) return;
      settled = true;
      const errno = error?.metadata?.get("sandstore-errno")[0];
      resolve({
        code: error ? error.code : grpc.status.OK,
        errno: typeof errno === "string" ? errno : "",
      });
    };
    if (!method.requestStream && !method.responseStream) {
      client.makeUnaryRequest(method.path, identity, identity, payload, metadata, options, settle);
    } else if (method.requestStream) {
      const stream = client.makeClientStreamRequest(
        method.path,
        identity,
        identity,
        metadata,
        options,
        settle,
      );
      stream.on("error", () => undefined);
      stream.write(payload);
      stream.end();
    } else {
      const stream = client.makeServerStreamRequest(
        method.path,
        identity,
        identity,
        payload,
        metadata,
        options,
      );
      stream.on("data", () => undefined);
      stream.on("error", (error: grpc.ServiceError) => settle(error));
      stream.on("end", () => settle(null));
    }
  });
}

/** True when `bytes` do not decode as `method`'s request: gRPC itself refuses them. */
function undecodable(method: Method, bytes: Buffer): boolean {
  try {
    method.requestDeserialize(bytes);
    return false;
  } catch {
    return true;
  }
}

function isInvalidPath(path: string): boolean {
  try {
    normalizePath(path);
    return false;
  } catch {
    return true;
  }
}

/** Protobuf bytes of a string field 1 holding `text`, then `rest` (more random fields). */
function withFirstString(text: string, rest: Uint8Array): Buffer {
  const body = Buffer.from(text, "utf8");
  const length: number[] = [];
  for (let n = body.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...length]), body, rest]);
}

const invalidPath = fc
  .oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ maxLength: 20 }).map((s) => `/a/../${s}`),
    fc.string({ maxLength: 20 }).map((s) => `/${s}\u0000x`),
    fc.constant(`/${"n".repeat(256)}`),
    fc.constant(`/${"d/".repeat(2100)}`),
  )
  .filter(isInvalidPath);

test("random and malformed messages never crash a node, change its state, or go unanswered", async () => {
  const cluster = new Cluster({ size: 1 });
  await cluster.start();
  const address = cluster.addresses[0] ?? "";
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const admin = new AdminClient(address, operatorPeerAuth({ clusterToken: cluster.token }));
  try {
    await cluster.leader();
    const before = await admin.nodeState();

    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 600 }).map((bytes) => ({ bytes: Buffer.from(bytes), path: "" })),
      fc
        .tuple(invalidPath, fc.uint8Array({ maxLength: 64 }))
        .map(([path, rest]) => ({ bytes: withFirstString(path, rest), path })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PUBLIC, ...INTERNAL),
        payload,
        async (method, { bytes, path }) => {
          // A well-formed path in a random message could make a valid mutation: only
          // malformed input is the point here.
          if (path === "" && PATH_FIRST.has(method.path)) {
            const decoded = undecodable(method, bytes)
              ? undefined
              : (method.requestDeserialize(bytes) as { path?: string; from?: string });
            const first = decoded?.path ?? decoded?.from;
            if (first !== undefined && !isInvalidPath(first)) return;
          }
          const outcome = await call(client, method, bytes);
          const internal = INTERNAL.includes(method);
          if (internal) {
            // Refused before anything is read, or not decodable at all.
            assert.ok(
              outcome.code === grpc.status.PERMISSION_DENIED ||
                (outcome.code === grpc.status.INTERNAL && undecodable(method, bytes)),
              `${method.path}: status ${outcome.code} for a caller with no credentials`,
            );
            return;
          }
          if (outcome.code === grpc.status.OK) return;
          assert.ok(
            outcome.errno !== "" ||
              (outcome.code === grpc.status.INTERNAL && undecodable(method, bytes)),
            `${method.path}: status ${outcome.code} without a POSIX code`,
          );
        },
      ),
      { numRuns: 600, seed: 1414 },
    );

    const after = await admin.nodeState();
    assert.equal(after.stateHash, before.stateHash, "no state changed");
    assert.equal(after.term, before.term, "no election happened");
    assert.ok(after.refusedCallsTotal > before.refusedCallsTotal, "the refusals were counted");
  } finally {
    client.close();
    admin.close();
    await cluster.close();
  }
});
