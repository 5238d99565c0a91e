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
import { MAX_WRITE_BYTES, sandstoreMcpServer } from "../../mcp/sandstore-mcp-server.ts";
import type { ClientCredentials } from "../../transport/file-service-api.ts";
import type { ClientPool } from "./client-pool.ts";

/** Largest MCP message taken: a write_file of MAX_WRITE_BYTES in base64, and its envelope. */
const MAX_MCP_BODY_BYTES = Math.ceil((MAX_WRITE_BYTES * 4) / 3) + 64 * 1024;

/**
 * Serves `/mcp` on `app`. `authenticate` checks a request's credentials (throwing the HTTP
 * error the REST API gives); `pool` holds a client per user.
 */
export function registerMcpRoute(
  app: FastifyInstance,
  authenticate: (
    headers: { authorization?: string },
    source: string,
  ) => Promise<ClientCredentials | undefined>,
  pool: ClientPool,
): void {
  app.post<{ Headers: { authorization?: string } }>(
    "/mcp",
    { bodyLimit: MAX_MCP_BODY_BYTES, schema: { hide: true } },
    async (request, reply) => {
      const credentials = await authenticate(request.headers, request.ip);
      await pool.withClient(credentials, async (client) => {
        const server = sandstoreMcpServer(client);
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
