/**
 * A node's HTTP port, wired the same way by every topology: the gateway over a client of the
 * node itself, the node's metrics, and, on a node of a file store, the file routes checked by
 * the node's own authenticator.
 */
import { join, resolve } from "node:path";
import { MEMBER_STATUS_TIMEOUT_MS } from "../client/cluster-status.ts";
import { connect } from "../client/connect.ts";
import type { HttpGateway, Readiness } from "../gateways/http/http-gateway.ts";
import type { StatusResponse } from "../gen/sandstore/v1/file_service.ts";
import type { NodeFigures, NodeMetrics } from "../observability/node-metrics.ts";
import type { ClientAuthenticator } from "../server/client-authenticator.ts";
import { adminLeadershipMover } from "../transport/admin-leadership.ts";
import type { PeerAuth } from "../transport/peer-auth.ts";
import { loadTlsDirectory, TLS_FILES } from "../transport/tls-peer-auth.ts";
import type { NodeOptions } from "./topology.ts";

export interface NodeHttpOptions {
  /**
   * The node's flags: `http`, where to listen (no HTTP port without it); `tlsDir`, HTTPS
   * with the node's certificate and its CA for the node's own port.
   */
  readonly node: Pick<NodeOptions, "id" | "http" | "tlsDir" | "logger">;
  /** Stops what the node started, when the HTTP port cannot open: the node does not start. */
  readonly release: () => Promise<void>;
  readonly metrics: NodeMetrics;
  readonly readiness: () => Promise<Readiness>;
  readonly status: () => Promise<StatusResponse>;
  /** On a node of a file store: the node's RPC address and what checks its clients. */
  readonly files?: {
    readonly address: string;
    readonly authenticator: ClientAuthenticator;
    /** The node's credentials behind the trust boundary: root's MCP calls move leadership. */
    readonly peerAuth?: PeerAuth;
  };
}

/** Where `npm run build` puts the dashboard, from this file in src/ (or in dist/). */
const DASHBOARD_DIR = resolve(import.meta.dirname, "../../dist/web");

/**
 * Starts the node's HTTP gateway, or nothing without `--http`. On failure (the port is
 * taken, the TLS directory does not check out) it runs `release` and rethrows.
 */
export async function startNodeHttp(o: NodeHttpOptions): Promise<HttpGateway | undefined> {
  try {
    return await startGateway(o);
  } catch (error) {
    await o.release();
    throw error;
  }
}

async function startGateway(o: NodeHttpOptions): Promise<HttpGateway | undefined> {
  const { id, http, tlsDir, logger } = o.node;
  if (http === undefined) return undefined;
  // Loaded only for a node with an HTTP port: the gateway, its REST API and its MCP server
  // (fastify, the MCP SDK, zod) are memory a node without one would hold for nothing. The
  // 1 GiB put test's node peaked at 261 MiB with them loaded (one CI run), 235 MiB without.
  const { startHttpGateway } = await import("../gateways/http/http-gateway.ts");
  const tls = tlsDir ? loadTlsDirectory(tlsDir, id) : undefined;
  const tlsCa = tlsDir ? join(tlsDir, TLS_FILES.ca) : undefined;
  const files = o.files;
  const gateway = await startHttpGateway({
    listen: http,
    nodeId: id,
    logger,
    metrics: o.metrics,
    readiness: o.readiness,
    status: o.status,
    dashboardDir: DASHBOARD_DIR,
    ...(tls && { tls: { key: tls.key, cert: tls.cert } }),
    ...(files && {
      files: {
        authenticate: (credentials, source, path) =>
          files.authenticator.identify({ source, credentials }, path),
        connect: (credentials) => connect(files.address, { credentials, tlsCa }),
        connectTo: (address) =>
          connect(address, { retryForMs: 0, callTimeoutMs: MEMBER_STATUS_TIMEOUT_MS, tlsCa }),
        ...(files.peerAuth && { leadership: adminLeadershipMover(files.peerAuth) }),
      },
    }),
  });
  logger.info({ http: `${gateway.scheme}://${gateway.address}` }, "HTTP serving");
  return gateway;
}

/**
 * A file-store node's figures for its metrics, read from its own status (the row for itself)
 * and its authenticator; `pendingProposals` on a member of the metadata group.
 */
export function fileNodeFigures(o: {
  readonly status: () => Promise<StatusResponse>;
  readonly authenticator: ClientAuthenticator;
  readonly pendingProposals?: () => number;
}): () => Promise<NodeFigures> {
  return async () => {
    const status = await o.status();
    const self = status.nodes[0];
    if (!self) return {};
    const metadata = self.roles.includes("metadata");
    return {
      ...(metadata && {
        raft: {
          role: self.role,
          term: self.term,
          leaderId: status.leaderId,
          commitIndex: self.commitIndex,
          appliedIndex: self.appliedIndex,
          pendingProposals: o.pendingProposals?.() ?? 0,
        },
      }),
      chunks: { chunks: self.chunkCount, bytes: self.chunkBytes },
      disk: {
        freeBytes: self.diskFreeBytes,
        totalBytes: self.diskTotalBytes,
        alarm: self.diskAlarm,
      },
      ...(self.maintenance && { maintenance: self.maintenance }),
      membershipStale: self.membershipStale,
      auth: { refused: o.authenticator.refusedTotal, throttled: o.authenticator.throttledTotal },
    };
  };
}

/** How long `/readyz` waits for the leader to confirm its commit index. */
const READINESS_TIMEOUT_MS = 2000;

/**
 * Readiness of a Raft member: it knows a leader, and a read barrier (the leader's commit
 * index as of now, applied here) completes within READINESS_TIMEOUT_MS.
 */
export function raftReadiness(node: {
  status(): { readonly lead: string };
  readBarrier(timeoutMs: number): Promise<void>;
}): () => Promise<Readiness> {
  return async () => {
    const leader = node.status().lead;
    if (!leader) return { ready: false, detail: "no leader known" };
    try {
      await node.readBarrier(READINESS_TIMEOUT_MS);
      return { ready: true, detail: `leader ${leader}; applied up to its commit index` };
    } catch (error) {
      return {
        ready: false,
        detail: `leader ${leader}, but its commit index was not applied here in ${READINESS_TIMEOUT_MS} ms: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  };
}
