/**
 * `/mcp` on a node's HTTP port: the MCP server (src/mcp/) over Streamable HTTP, stateless.
 * Each POST is one JSON-RPC message answered as JSON, by a server made for it and calling as
 * the request's user (HTTP Basic credentials, as the REST API), so no session outlives a
 * request and nothing one user asked can answer another. GET and DELETE (a server-sent event
 * stream, a session's end) have nothing to serve without sessions: 405, as the transport's
 * specification allows.
 */
import { finished } from "node:stream/promises";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { FastifyInstance } from "fastify";
import type { SandstoreClient } from "../../client/sandstore-client.ts";
import type { Caller } from "../../gen/sandstore/v1/metadata.ts";
import { MAX_WRITE_BYTES, sandstoreMcpServer } from "../../mcp/sandstore-mcp-server.ts";
import type { LeadershipMover } from "../../transport/admin-leadership.ts";
import type { ClientCredentials } from "../../transport/file-service-api.ts";
import type { ClientPool } from "./client-pool.ts";

/** Largest MCP message taken: a write_file of MAX_WRITE_BYTES in base64, and its envelope. */
const MAX_MCP_BODY_BYTES = Math.ceil((MAX_WRITE_BYTES * 4) / 3) + 64 * 1024;

/** What `/mcp` needs of the gateway. */
export interface McpRouteOptions {
  /**
   * Who a request's credentials prove to be (throwing the HTTP error the REST API gives):
   * the credentials, and the caller (undefined: root, auth off).
   */
  readonly authenticate: (
    headers: { authorization?: string },
    source: string,
  ) => Promise<{ credentials: ClientCredentials | undefined; caller: Caller | undefined }>;
  /** A client per user. */
  readonly pool: ClientPool;
  /** A client of one member, for each member's own row of the status. */
  readonly connectTo: (address: string) => SandstoreClient;
  /** Moves leadership with the node's credentials: offered to root callers only. */
  readonly leadership?: LeadershipMover;
}

/** Serves `/mcp` on `app`. */
export function registerMcpRoute(app: FastifyInstance, o: McpRouteOptions): void {
  app.post<{ Headers: { authorization?: string } }>(
    "/mcp",
    { bodyLimit: MAX_MCP_BODY_BYTES, schema: { hide: true } },
    async (request, reply) => {
      const { credentials, caller } = await o.authenticate(request.headers, request.ip);
      // Leadership is an operator's to move: root (or anyone, on a cluster without auth)
      // may, through the node's own credentials; any other user's call is refused EPERM.
      const root = caller === undefined || caller.uid === 0;
      await o.pool.withClient(credentials, async (client) => {
        const server = sandstoreMcpServer({
          client,
          connectTo: o.connectTo,
          ...(root && o.leadership && { leadership: o.leadership }),
        });
        const transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: undefined,
          enableJsonResponse: true,
        });
        try {
          await server.connect(transport);
          reply.hijack();
          await transport.handleRequest(request.raw, reply.raw, request.body);
          await finished(reply.raw);
        } finally {
          await server.close();
        }
      });
    },
  );
  app.route({
    method: ["GET", "DELETE"],
    url: "/mcp",
    schema: { hide: true },
    handler: async (_request, reply) =>
      reply.code(405).header("allow", "POST").send({
        code: "ENOTSUP",
        message: "MCP here is stateless: POST each message",
        path: "/mcp",
      }),
  });
}
