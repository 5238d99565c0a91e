/**
 * A node's HTTP port (`--http`): Prometheus metrics, health and readiness, and the REST API
 * for files and the cluster under `/api/v1`, described by an OpenAPI document at
 * `/api/v1/openapi.json` (docs/http.md).
 *
 * Built on Fastify: every route declares JSON schemas for its parameters, query and body,
 * which Fastify validates each request against (ajv) and which @fastify/swagger turns into
 * the OpenAPI document, so the document and the validation cannot disagree. Fastify also
 * streams request and response bodies, and is maintained under the OpenJS Foundation.
 *
 * The API sits on the SDK, as every gateway does: file calls go through a client of this
 * node as the user who made the request, so the node's own checks (paths, permissions,
 * disk space) apply unchanged, and the same code serves every topology. Credentials are
 * HTTP Basic (`curl -u ACCESS_KEY:SECRET`) and checked here first, against this request's
 * own source address, so one client's failures throttle only that client.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { finished, pipeline } from "node:stream/promises";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import { clusterStatus } from "../../client/cluster-status.ts";
import type { SandstoreClient, Stats } from "../../client/sandstore-client.ts";
import { O_CREAT, O_EXCL, O_WRONLY } from "../../client/sandstore-client.ts";
import { fsError, SandstoreError } from "../../common/errors.ts";
import { FILE_KINDS } from "../../common/file-kinds.ts";
import { normalizePath, parentAndName } from "../../common/paths.ts";
import type { StatusResponse } from "../../gen/sandstore/v1/file_service.ts";
import type { Caller } from "../../gen/sandstore/v1/metadata.ts";
import type { Logger } from "../../observability/logger.ts";
import type { NodeMetrics } from "../../observability/node-metrics.ts";
import { MAX_PLACEMENT_PAGE, MAX_VERIFIED_PLACEMENT_PAGE } from "../../server/file-placement.ts";
import type { LeadershipMover } from "../../transport/admin-leadership.ts";
import type { ClientCredentials } from "../../transport/file-service-api.ts";
import { answerRange } from "./byte-range.ts";
import { ClientPool } from "./client-pool.ts";
import { answerError, ERROR_BODY_SCHEMA, HttpError } from "./http-errors.ts";
import { registerMcpRoute } from "./mcp-route.ts";

/** Whether a node serves: `/readyz` answers 200 when `ready`, else 503; `detail` says why. */
export interface Readiness {
  readonly ready: boolean;
  readonly detail: string;
}

/** What the REST API's file routes need of the node; absent on a node that stores no files. */
export interface GatewayFiles {
  /**
   * Who `credentials` prove to be, from `source` (the request's address), reading `path`:
   * undefined (root) when auth is off. Throws SandstoreError EACCES when they prove nothing.
   */
  authenticate(
    credentials: ClientCredentials | undefined,
    source: string,
    path: string,
  ): Promise<Caller | undefined>;
  /** A client of this node calling with `credentials` (none: auth off). */
  connect(credentials?: ClientCredentials): SandstoreClient;
  /** A client of another member, with a short deadline, for the cluster's status. */
  connectTo(address: string): SandstoreClient;
  /** Moves the metadata group's leadership with the node's own credentials, for root's MCP calls. */
  readonly leadership?: LeadershipMover;
}

export interface HttpGatewayOptions {
  /** `host:port`; port 0 picks one. */
  readonly listen: string;
  readonly nodeId: string;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  readonly readiness: () => Promise<Readiness>;
  /** This node's status, for a cluster without file routes (its members each answer theirs). */
  readonly status: () => Promise<StatusResponse>;
  readonly files?: GatewayFiles;
  /** HTTPS with this key and certificate (PEM), on a node given a TLS directory. */
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer };
  /**
   * The built dashboard (`npm run build` writes it to dist/web): served at `/`. A directory
   * without it makes `/` answer 503 saying so.
   */
  readonly dashboardDir: string;
}

/** A listening gateway. */
export interface HttpGateway {
  /** `host:port` it listens on, with the real port. */
  readonly address: string;
  /** `http` or `https`. */
  readonly scheme: string;
  close(): Promise<void>;
}

/** Entries a listing page holds at most, and by default. */
export const MAX_LIST_PAGE = 1000;
/** The dashboard's files, as `npm run build` writes them, with their media types. */
const DASHBOARD_FILES = new Map([
  ["index.html", "text/html; charset=utf-8"],
  ["dashboard.js", "text/javascript; charset=utf-8"],
  ["dashboard.js.map", "application/json"],
  ["dashboard.css", "text/css; charset=utf-8"],
]);

/** Time between two events of a stream: a leader change shows within a second. */
export const EVENT_INTERVAL_MS = 500;
/** Event streams open at once: each asks every member's status twice a second. */
export const MAX_EVENT_STREAMS = 32;
/** Longest `Authorization` header read: Basic credentials are far shorter. */
const MAX_AUTHORIZATION_BYTES = 1024;
/** JSON bodies (mkdir, rename) are two paths and a few fields. */
const MAX_JSON_BODY_BYTES = 64 * 1024;

const PATH_PARAMS = {
  type: "object",
  properties: { "*": { type: "string", description: "the file's path below the root" } },
} as const;

const STATS_SCHEMA = {
  type: "object",
  properties: {
    path: { type: "string" },
    type: { type: "string", enum: FILE_KINDS },
    size: { type: "integer" },
    mode: { type: "integer", description: "permission bits" },
    uid: { type: "integer" },
    gid: { type: "integer" },
    nlink: { type: "integer" },
    ino: { type: "integer" },
    atimeMs: { type: "integer" },
    mtimeMs: { type: "integer" },
    ctimeMs: { type: "integer" },
  },
} as const;

const ERROR_RESPONSES = {
  "4xx": { description: "the request was refused; the body says why", ...ERROR_BODY_SCHEMA },
  "5xx": { description: "the cluster could not serve it now", ...ERROR_BODY_SCHEMA },
} as const;

function statsBody(path: string, stats: Stats) {
  return {
    path,
    type: stats.type,
    size: stats.size,
    mode: stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    nlink: stats.nlink,
    ino: stats.ino,
    atimeMs: stats.atimeMs,
    mtimeMs: stats.mtimeMs,
    ctimeMs: stats.ctimeMs,
  };
}

/** The file path a wildcard route names: `/` and what follows the route's prefix. */
function pathParam(params: { "*"?: string }): string {
  return normalizePath(`/${params["*"] ?? ""}`);
}

/**
 * The credentials of an `Authorization: Basic` header, undefined when there is none. Throws
 * HttpError 401 for a header that is present but not Basic credentials.
 */
export function basicCredentials(header: string | undefined): ClientCredentials | undefined {
  if (header === undefined) return undefined;
  const refuse = () =>
    new HttpError(
      401,
      "EACCES",
      "malformed Authorization header: expected Basic base64(ACCESS_KEY:SECRET)",
    );
  if (header.length > MAX_AUTHORIZATION_BYTES) throw refuse();
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!match?.[1]) throw refuse();
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) throw refuse();
  return { accessKeyId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** Starts the gateway; rejects when it cannot listen on `options.listen`. */
export async function startHttpGateway(options: HttpGatewayOptions): Promise<HttpGateway> {
  const app = Fastify({
    // Requests are not logged one by one (metrics count them); failures are, below.
    logger: false,
    // Closing ends every connection, event streams included, instead of waiting for them.
    forceCloseConnections: true,
    bodyLimit: MAX_JSON_BODY_BYTES,
    // HEAD of a download is its own route, which opens no read stream.
    exposeHeadRoutes: false,
    ...(options.tls && { https: { key: options.tls.key, cert: options.tls.cert } }),
    ajv: {
      // Unknown fields are refused, not dropped: a misspelt option must not pass unnoticed.
      customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false },
    },
  });
  const pool = options.files ? new ClientPool(options.files.connect) : undefined;
  const log = options.logger.child({ component: "http" });

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Sandstore REST API",
        description:
          "Files and the cluster over HTTP. Errors are JSON with a POSIX code. With --auth required, send HTTP Basic credentials: the access key and secret of `sandstore user add`.",
        version: "1",
      },
      components: { securitySchemes: { basic: { type: "http", scheme: "basic" } } },
      security: [{ basic: [] }],
    },
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = answerError(error);
    if (answer) {
      if (answer.status === 401) void reply.header("www-authenticate", 'Basic realm="sandstore"');
      if (answer.status === 503) void reply.header("retry-after", "1");
      return reply.code(answer.status).send(answer.body);
    }
    // Fastify's own refusals: a request that does not match its route's schema, a body
    // that is not JSON or too large, a media type no route takes.
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      const what = error.validation
        ? `${error.validationContext ?? "request"}${error.validation[0]?.instancePath ?? ""} ${error.validation[0]?.message ?? "is invalid"}`
        : error.message;
      return reply
        .code(status)
        .send({ error: { code: "EINVAL", message: `bad request: ${what}`, path: "" } });
    }
    log.error({ err: error, method: request.method, url: request.url }, "HTTP request failed");
    return reply
      .code(500)
      .send({ error: { code: "EIO", message: "internal error; see the node's log", path: "" } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: {
        code: "ENOENT",
        message: `no such route: ${request.method} ${request.url.split("?")[0]} (see /api/v1/openapi.json)`,
        path: "",
      },
    }),
  );

  // Health, readiness, metrics: no credentials, as Prometheus and orchestrators call them.
  app.get(
    "/healthz",
    { schema: { description: "The process is alive.", tags: ["node"], security: [] } },
    async () => ({ status: "ok", node: options.nodeId }),
  );
  app.get(
    "/readyz",
    {
      schema: {
        description:
          "Ready: the node has a leader and has applied up to that leader's commit index as of the check (a data server: a metadata server took its report lately).",
        tags: ["node"],
        security: [],
      },
    },
    async (_request, reply) => {
      const readiness = await options.readiness();
      return reply.code(readiness.ready ? 200 : 503).send({ node: options.nodeId, ...readiness });
    },
  );
  app.get(
    "/metrics",
    { schema: { description: "Prometheus text format.", tags: ["node"], security: [] } },
    async (_request, reply) => {
      const text = await options.metrics.text();
      return reply.type(options.metrics.contentType).send(text);
    },
  );

  app.get("/api/v1/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  // The dashboard: its page and the files the build made, by name, nothing else.
  const dashboardFile = async (name: string, reply: FastifyReply) => {
    const type = DASHBOARD_FILES.get(name);
    if (type === undefined) throw new HttpError(404, "ENOENT", `no dashboard file ${name}`);
    const bytes = await readFile(join(options.dashboardDir, name)).catch((error: unknown) => {
      if (error instanceof Error && "code" in error && error.code === "ENOENT")
        throw new HttpError(
          503,
          "ENOTSUP",
          `the dashboard is not built (${join(options.dashboardDir, name)} is missing): run npm run build`,
        );
      throw error;
    });
    return reply.type(type).header("cache-control", "no-cache").send(bytes);
  };
  app.get("/", { schema: { hide: true } }, (_request, reply) => dashboardFile("index.html", reply));
  app.get<{ Params: { name: string } }>(
    "/dashboard/:name",
    { schema: { hide: true } },
    (request, reply) => dashboardFile(request.params.name, reply),
  );

  const files = options.files;
  const clusterNow = async (): Promise<StatusResponse> => {
    if (!files || !pool) return options.status();
    return pool.withClient(undefined, (client) => clusterStatus(client, files.connectTo));
  };
  // The cluster: no credentials, as the status RPC asks none (it holds no file data).
  app.get(
    "/api/v1/cluster/status",
    {
      schema: {
        description: "Every member's status, each asked of the member itself.",
        tags: ["cluster"],
        security: [],
      },
    },
    clusterNow,
  );
  let eventStreams = 0;
  app.get(
    "/api/v1/events",
    {
      schema: {
        description: `Server-sent events: a \`status\` event with the cluster's status (as /api/v1/cluster/status) every ${EVENT_INTERVAL_MS} ms, for the dashboard. At most ${MAX_EVENT_STREAMS} streams at once.`,
        tags: ["cluster"],
        security: [],
      },
    },
    async (request, reply) => {
      if (eventStreams >= MAX_EVENT_STREAMS)
        throw new HttpError(503, "EAGAIN", `${MAX_EVENT_STREAMS} event streams are open already`);
      eventStreams++;
      reply.hijack();
      const out = reply.raw;
      out.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      let open = true;
      request.raw.once("close", () => {
        open = false;
      });
      try {
        while (open) {
          const started = Date.now();
          const event = await clusterNow().then(
            (status) => `event: status\ndata: ${JSON.stringify({ at: Date.now(), status })}\n\n`,
            (error: unknown) =>
              `event: unavailable\ndata: ${JSON.stringify({ at: Date.now(), message: error instanceof Error ? error.message : String(error) })}\n\n`,
          );
          if (!open) break;
          out.write(event);
          await new Promise((r) =>
            setTimeout(r, Math.max(0, EVENT_INTERVAL_MS - (Date.now() - started))),
          );
        }
      } finally {
        eventStreams--;
        out.end();
      }
    },
  );
  app.get(
    "/api/v1/cluster/members",
    {
      schema: {
        description: "The members this node knows, with their roles and liveness.",
        tags: ["cluster"],
        security: [],
      },
    },
    async () => {
      const status = await options.status();
      return {
        leaderId: status.leaderId,
        topology: status.topology,
        members: status.nodes.map((node) => ({
          id: node.id,
          address: node.address,
          roles: node.roles,
          live: node.memberLive,
          draining: node.draining,
        })),
      };
    },
  );

  if (files && pool) {
    registerFileRoutes(app, files, pool);
    registerMcpRoute(app, {
      authenticate: (headers, source) => authenticateRequest(files, headers, source, "/"),
      pool,
      connectTo: files.connectTo,
      leadership: files.leadership,
    });
  } else
    app.all("/api/v1/*", async () => {
      throw new HttpError(
        501,
        "ENOTSUP",
        "this node's cluster stores keys, not files: it has no file routes",
      );
    });

  await app.ready();
  const colon = options.listen.lastIndexOf(":");
  const host = options.listen.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  await app.listen({ host, port: Number(options.listen.slice(colon + 1)) });
  const bound = app.server.address();
  const port = typeof bound === "object" && bound ? bound.port : 0;
  return {
    address: `${options.listen.slice(0, colon)}:${port}`,
    scheme: options.tls ? "https" : "http",
    async close() {
      await app.close();
      await pool?.close();
    },
  };
}

/**
 * A request's `Authorization: Basic` credentials, checked by `files` for `path`: HttpError
 * 401 when they prove nothing; undefined credentials and caller when auth is off.
 */
async function authenticateRequest(
  files: GatewayFiles,
  headers: { authorization?: string },
  source: string,
  path: string,
): Promise<{ credentials: ClientCredentials | undefined; caller: Caller | undefined }> {
  const credentials = basicCredentials(headers.authorization);
  try {
    return { credentials, caller: await files.authenticate(credentials, source, path) };
  } catch (error) {
    if (error instanceof SandstoreError && error.code === "EACCES")
      throw new HttpError(401, "EACCES", error.message, path);
    throw error;
  }
}

/** The file routes, in their own scope, whose uploads take any media type as raw bytes. */
function registerFileRoutes(app: FastifyInstance, files: GatewayFiles, pool: ClientPool): void {
  const authenticated = (headers: { authorization?: string }, source: string, path: string) =>
    authenticateRequest(files, headers, source, path);

  const sendFile = async (
    client: SandstoreClient,
    path: string,
    range: string | undefined,
    head: boolean,
    reply: FastifyReply,
  ) => {
    const stats = await client.stat(path);
    if (stats.isDirectory())
      throw fsError("EISDIR", path, "a directory has no bytes: list it at /api/v1/list");
    void reply
      .header("accept-ranges", "bytes")
      .header("last-modified", new Date(stats.mtimeMs).toUTCString())
      .type("application/octet-stream");
    const answer = answerRange(range, stats.size);
    if (answer.kind === "unsatisfiable")
      return reply
        .code(416)
        .type("application/json")
        .header("content-range", `bytes */${stats.size}`)
        .send({
          error: {
            code: "EINVAL",
            message: `range ${range} starts past the end of a ${stats.size}-byte file`,
            path,
          },
        });
    const { start, end } = answer.kind === "slice" ? answer : { start: 0, end: stats.size };
    if (answer.kind === "slice")
      void reply.code(206).header("content-range", `bytes ${start}-${end - 1}/${stats.size}`);
    void reply.header("content-length", String(end - start));
    if (head || end === start) return reply.send();
    const stream = client.createReadStream(path, { start, end });
    await reply.send(stream);
    // The client stays in use until the last byte is sent (or the download is cut off).
    await finished(stream).catch(() => undefined);
    return reply;
  };

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Uploads are streamed: the body is left unread for the handler to pipe.
    scope.addContentTypeParser("*", (_request, _payload, done) => done(null));

    scope.route<{ Params: { "*"?: string }; Headers: { authorization?: string; range?: string } }>({
      method: ["GET", "HEAD"],
      url: "/api/v1/files/*",
      schema: {
        description:
          "Downloads a file: the whole of it, or one byte range (Range: bytes=first-last, first-, or -suffix) with 206. HEAD gives the headers alone.",
        tags: ["files"],
        params: PATH_PARAMS,
        response: ERROR_RESPONSES,
      },
      handler: async (request, reply) => {
        const path = pathParam(request.params);
        const { credentials } = await authenticated(request.headers, request.ip, path);
        return pool.withClient(credentials, (client) =>
          sendFile(client, path, request.headers.range, request.method === "HEAD", reply),
        );
      },
    });

    scope.put<{
      Params: { "*"?: string };
      Querystring: { parents?: boolean; mode?: number; exclusive?: boolean };
      Headers: { authorization?: string };
    }>(
      "/api/v1/files/*",
      {
        schema: {
          description:
            "Uploads a file from the request body, streamed. The file appears whole or not at all: the bytes go to a hidden file beside it, renamed over it once all are durable.",
          tags: ["files"],
          params: PATH_PARAMS,
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: {
              parents: { type: "boolean", description: "create missing parent directories" },
              mode: { type: "integer", minimum: 0, maximum: 4095, description: "permission bits" },
              exclusive: { type: "boolean", description: "refuse (EEXIST) if the file exists" },
            },
          },
          response: { 201: STATS_SCHEMA, ...ERROR_RESPONSES },
        },
      },
      async (request, reply) => {
        const path = pathParam(request.params);
        if (path === "/") throw fsError("EISDIR", path, "the root is a directory");
        const { credentials } = await authenticated(request.headers, request.ip, path);
        const { parent } = parentAndName(path);
        const query = request.query;
        return pool.withClient(credentials, async (client) => {
          if (query.parents) await client.mkdir(parent, { recursive: true });
          if (query.exclusive) {
            const exists = await client.stat(path).then(
              () => true,
              (error: unknown) => {
                if (error instanceof SandstoreError && error.code === "ENOENT") return false;
                throw error;
              },
            );
            if (exists) throw fsError("EEXIST", path, "exclusive upload of a file that exists");
          }
          const staging = `${parent === "/" ? "" : parent}/.sandstore-upload-${randomBytes(8).toString("hex")}`;
          const sink = client.createWriteStream(staging, {
            flags: O_WRONLY | O_CREAT | O_EXCL,
            mode: query.mode ?? 0o644,
          });
          try {
            await pipeline(request.raw, sink);
            await client.rename(staging, path);
          } catch (error) {
            // The staged bytes are not the file: remove them, and report what failed.
            await client.unlink(staging).catch(() => undefined);
            throw error;
          }
          return reply.code(201).send(statsBody(path, await client.stat(path)));
        });
      },
    );
  });

  app.delete<{
    Params: { "*"?: string };
    Querystring: { recursive?: boolean };
    Headers: { authorization?: string };
  }>(
    "/api/v1/files/*",
    {
      schema: {
        description:
          "Deletes a file or an empty directory; with recursive=true, a directory and everything under it.",
        tags: ["files"],
        params: PATH_PARAMS,
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { recursive: { type: "boolean" } },
        },
        response: ERROR_RESPONSES,
      },
    },
    async (request, reply) => {
      const path = pathParam(request.params);
      const { credentials } = await authenticated(request.headers, request.ip, path);
      await pool.withClient(credentials, async (client) => {
        const stats = await client.stat(path);
        if (!stats.isDirectory()) return client.unlink(path);
        if (request.query.recursive) return client.rm(path, { recursive: true });
        if (path === "/") throw fsError("EINVAL", path, "the root cannot be removed");
        return client.rmdir(path);
      });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { "*"?: string }; Headers: { authorization?: string } }>(
    "/api/v1/stat/*",
    {
      schema: {
        description: "A file's or directory's attributes.",
        tags: ["files"],
        params: PATH_PARAMS,
        response: { 200: STATS_SCHEMA, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const path = pathParam(request.params);
      const { credentials } = await authenticated(request.headers, request.ip, path);
      return pool.withClient(credentials, async (client) =>
        statsBody(path, await client.stat(path)),
      );
    },
  );

  app.get<{
    Params: { "*"?: string };
    Querystring: { after?: string; limit?: number };
    Headers: { authorization?: string };
  }>(
    "/api/v1/list/*",
    {
      schema: {
        description:
          "A page of a directory's entries in name order. Pass the page's `next` as `after` for the one that follows; `next` is absent on the last page.",
        tags: ["files"],
        params: PATH_PARAMS,
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            after: { type: "string", maxLength: 255, description: "list the names after this" },
            limit: { type: "integer", minimum: 1, maximum: MAX_LIST_PAGE },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              path: { type: "string" },
              entries: {
                type: "array",
                items: {
                  type: "object",
                  properties: { name: { type: "string" }, ...STATS_SCHEMA.properties },
                },
              },
              next: { type: "string" },
            },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const path = pathParam(request.params);
      const { credentials } = await authenticated(request.headers, request.ip, path);
      const page = await pool.withClient(credentials, (client) =>
        client.readdirPage(path, {
          after: request.query.after ?? "",
          limit: request.query.limit ?? MAX_LIST_PAGE,
        }),
      );
      const last = page.entries.at(-1);
      return {
        path,
        entries: page.entries.map((entry) => ({
          ...statsBody(path === "/" ? `/${entry.name}` : `${path}/${entry.name}`, entry.stats),
          name: entry.name,
        })),
        ...(!page.done && last && { next: last.name }),
      };
    },
  );

  app.post<{
    Body: { path: string; parents?: boolean; mode?: number };
    Headers: { authorization?: string };
  }>(
    "/api/v1/mkdir",
    {
      schema: {
        description: "Makes a directory; with parents=true, its missing parents too.",
        tags: ["files"],
        body: {
          type: "object",
          required: ["path"],
          additionalProperties: false,
          properties: {
            path: { type: "string", minLength: 1, maxLength: 4096 },
            parents: { type: "boolean" },
            mode: { type: "integer", minimum: 0, maximum: 4095 },
          },
        },
        response: { 201: STATS_SCHEMA, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const path = normalizePath(request.body.path);
      const { credentials } = await authenticated(request.headers, request.ip, path);
      const body = request.body;
      return pool.withClient(credentials, async (client) => {
        await client.mkdir(path, { recursive: body.parents ?? false, mode: body.mode ?? 0o755 });
        return reply.code(201).send(statsBody(path, await client.stat(path)));
      });
    },
  );

  app.post<{ Body: { from: string; to: string }; Headers: { authorization?: string } }>(
    "/api/v1/rename",
    {
      schema: {
        description: "Renames a file or directory, replacing `to` as rename(2) does.",
        tags: ["files"],
        body: {
          type: "object",
          required: ["from", "to"],
          additionalProperties: false,
          properties: {
            from: { type: "string", minLength: 1, maxLength: 4096 },
            to: { type: "string", minLength: 1, maxLength: 4096 },
          },
        },
        response: { 200: STATS_SCHEMA, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const from = normalizePath(request.body.from);
      const to = normalizePath(request.body.to);
      const { credentials } = await authenticated(request.headers, request.ip, from);
      return pool.withClient(credentials, async (client) => {
        await client.rename(from, to);
        return statsBody(to, await client.stat(to));
      });
    },
  );

  app.get<{
    Params: { "*"?: string };
    Querystring: { from?: number; limit?: number; verify?: boolean };
    Headers: { authorization?: string };
  }>(
    "/api/v1/placement/*",
    {
      schema: {
        description: `Where a file's chunks live: a page of its chunk slots with the nodes holding each copy, whether each node is live and, with \`verify=true\`, each copy's health after a read of it where it lies (at most ${MAX_VERIFIED_PLACEMENT_PAGE} slots a page then). Pass \`nextSlot\` as \`from\` for the next page.`,
        tags: ["cluster"],
        params: PATH_PARAMS,
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            from: { type: "integer", minimum: 0 },
            limit: { type: "integer", minimum: 1, maximum: MAX_PLACEMENT_PAGE },
            verify: { type: "boolean" },
          },
        },
        response: ERROR_RESPONSES,
      },
    },
    async (request) => {
      const path = pathParam(request.params);
      const { credentials } = await authenticated(request.headers, request.ip, path);
      const { from = 0, limit = 0, verify = false } = request.query;
      const placement = await pool.withClient(credentials, (client) =>
        client.placement(path, { fromSlot: from, limit, verify }),
      );
      return { path, ...placement };
    },
  );
}
