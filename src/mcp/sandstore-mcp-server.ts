/**
 * The MCP server: a running cluster as tools an AI assistant can call, through the SDK as one
 * user (the `--user` the command was given, or the HTTP request's). Every tool validates its
 * input by schema and answers with structured content as well as text. A failure is a tool
 * error whose text starts with the POSIX code and whose `_meta.errno` carries it; a tool
 * never reports success for something that did not happen, because each one returns only
 * after the SDK call it makes has returned (a leadership transfer, once a member reports the
 * new leader).
 *
 * Beside the tools: resources for the cluster's status and a file's placement, and two
 * prompts ("explain this cluster", "walk me through a failover") that hand the assistant the
 * status and the steps.
 *
 * Limits: a read returns at most MAX_READ_BYTES, a write takes at most MAX_WRITE_BYTES, a
 * listing at most MAX_LIST_ENTRIES entries per call (page with `after`), events at most
 * MAX_EVENTS per call.
 */
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { clusterStatus } from "../client/cluster-status.ts";
import type { Stats } from "../client/namespace-operations.ts";
import type { SandstoreClient } from "../client/sandstore-client.ts";
import { COPY_HEALTHS, NODE_EVENT_KINDS, nodeEventKindOf } from "../common/cluster-reports.ts";
import { fsError, SandstoreError, UnavailableError } from "../common/errors.ts";
import { FILE_KINDS } from "../common/file-kinds.ts";
import type { StatusResponse } from "../gen/sandstore/v1/file_service.ts";
import { O_CREAT, O_TRUNC, O_WRONLY } from "../index.ts";
import type { LeadershipMover } from "../transport/admin-leadership.ts";

/** Most bytes one read_file returns: a model reads a file in pieces, not whole. */
export const MAX_READ_BYTES = 1024 * 1024;
/** Most bytes one write_file takes (the JSON-RPC message carries them whole). */
export const MAX_WRITE_BYTES = 4 * 1024 * 1024;
/** Most entries one list_directory returns. */
export const MAX_LIST_ENTRIES = 1000;
/** Most events one `events` call returns (each node keeps its newest 256). */
export const MAX_EVENTS = 500;
/** Slots one placement call answers at most (the file service's page), 16 when verifying. */
const MAX_PLACEMENT_SLOTS = 1024;

/** The cluster the server works on, and as whom. The caller owns (and closes) the clients. */
export interface McpCluster {
  /** A client of the cluster, calling as the user the server serves. */
  readonly client: SandstoreClient;
  /** A client of one member (by its address), for each member's own row of the status. */
  readonly connectTo: (address: string) => SandstoreClient;
  /**
   * Moves the metadata group's leadership, with an operator's (or a node's) credentials;
   * absent when this server has none, and `transfer_leadership` answers EPERM.
   */
  readonly leadership?: LeadershipMover;
}

const path = z.string().min(1).describe("an absolute path in the cluster, such as /docs/a.txt");

const statsShape = {
  path: z.string(),
  type: z.enum(FILE_KINDS),
  size: z.number().describe("bytes"),
  mode: z.number().describe("permission bits"),
  uid: z.number(),
  gid: z.number(),
  nlink: z.number(),
  ino: z.number(),
  mtimeMs: z.number().describe("modification time, ms since the epoch"),
};

function statsOf(p: string, s: Stats) {
  return {
    path: p,
    type: s.type,
    size: s.size,
    mode: s.mode,
    uid: s.uid,
    gid: s.gid,
    nlink: s.nlink,
    ino: s.ino,
    mtimeMs: s.mtimeMs,
  };
}

/** A tool's answer: the structured result, and the same as JSON text for clients without. */
function answer<T extends Record<string, unknown>>(
  result: T,
): CallToolResult & { structuredContent: T } {
  return { content: [{ type: "text", text: JSON.stringify(result) }], structuredContent: result };
}

/**
 * A failure as a tool error: the store's POSIX code (or the cluster's, when it could not
 * answer) first in the text and in `_meta.errno`. Anything else is not the store's answer
 * and is passed on, for the SDK to report as a tool error with its message.
 */
function failure(error: unknown): CallToolResult {
  if (error instanceof SandstoreError || error instanceof UnavailableError) {
    const errno = error.code;
    return {
      isError: true,
      content: [{ type: "text", text: `${errno}: ${error.message}` }],
      _meta: { errno, path: error instanceof SandstoreError ? error.path : "" },
    };
  }
  throw error;
}

async function attempt<T extends Record<string, unknown>>(
  run: () => Promise<T>,
): Promise<CallToolResult> {
  try {
    return answer(await run());
  } catch (error) {
    return failure(error);
  }
}

/** The version the server reports to its clients: the package's. */
const SERVER_VERSION = "0.1.0";

/** The cluster's status with each member's own row (and, with `events`, its events). */
function wholeStatus(cluster: McpCluster, events = false): Promise<StatusResponse> {
  return clusterStatus(cluster.client, cluster.connectTo, { events });
}

/** Status as the tools and resources answer it: the settings, the leader, every member. */
function statusBody(status: StatusResponse) {
  return {
    topology: status.topology,
    leaderId: status.leaderId,
    chunkSize: status.chunkSize,
    replicationFactor: status.replicationFactor,
    writeQuorum: status.writeQuorum,
    members: status.nodes.map((node) => ({
      id: node.id,
      address: node.address,
      roles: node.roles,
      raftRole: node.role,
      term: node.term,
      live: node.live,
      memberLive: node.memberLive,
      appliedIndex: node.appliedIndex,
      chunkCount: node.chunkCount,
      diskFreeBytes: node.diskFreeBytes,
      diskTotalBytes: node.diskTotalBytes,
    })),
  };
}

/** A resource's one JSON document. */
function jsonResource(uri: URL, body: unknown): ReadResourceResult {
  return {
    contents: [
      { uri: uri.href, mimeType: "application/json", text: JSON.stringify(body, null, 2) },
    ],
  };
}

/** The MCP server over `cluster`; the caller connects it to a transport. */
export function sandstoreMcpServer(cluster: McpCluster): McpServer {
  const { client } = cluster;
  const server = new McpServer({ name: "sandstore", version: SERVER_VERSION });

  server.registerTool(
    "stat",
    {
      title: "Stat a path",
      description: "The type, size, mode, owner and times of a file or directory.",
      inputSchema: { path },
      outputSchema: statsShape,
    },
    ({ path: p }) => attempt(async () => statsOf(p, await client.stat(p))),
  );

  server.registerTool(
    "list_directory",
    {
      title: "List a directory",
      description: `Entries of a directory in name order, at most ${MAX_LIST_ENTRIES} a call; pass the last name as "after" for the next page.`,
      inputSchema: {
        path,
        after: z.string().optional().describe("list names after this one"),
        limit: z.number().int().min(1).max(MAX_LIST_ENTRIES).optional(),
      },
      outputSchema: {
        entries: z.array(z.object({ name: z.string(), ...statsShape })),
        more: z.boolean().describe("true when entries follow the last one"),
      },
    },
    ({ path: p, after, limit }) =>
      attempt(async () => {
        const most = limit ?? MAX_LIST_ENTRIES;
        const entries = [];
        let more = false;
        for await (const entry of client.opendir(p)) {
          if (
            after !== undefined &&
            Buffer.compare(Buffer.from(entry.name), Buffer.from(after)) <= 0
          )
            continue;
          if (entries.length === most) {
            more = true;
            break;
          }
          const full = p === "/" ? `/${entry.name}` : `${p}/${entry.name}`;
          entries.push({ name: entry.name, ...statsOf(full, entry.stats) });
        }
        return { entries, more };
      }),
  );

  server.registerTool(
    "read_file",
    {
      title: "Read a file",
      description: `Up to ${MAX_READ_BYTES} bytes of a file from an offset, as UTF-8 text or base64.`,
      inputSchema: {
        path,
        offset: z.number().int().min(0).optional().describe("bytes into the file; default 0"),
        length: z
          .number()
          .int()
          .min(0)
          .max(MAX_READ_BYTES)
          .optional()
          .describe(`bytes to read; default and most ${MAX_READ_BYTES}`),
        encoding: z.enum(["utf8", "base64"]).optional().describe("default utf8"),
      },
      outputSchema: {
        content: z.string(),
        encoding: z.enum(["utf8", "base64"]),
        offset: z.number(),
        bytes: z.number().describe("bytes read"),
        size: z.number().describe("the file's size"),
        eof: z.boolean().describe("true when the read reached the end of the file"),
      },
    },
    ({ path: p, offset = 0, length = MAX_READ_BYTES, encoding = "utf8" }) =>
      attempt(async () => {
        const fd = await client.open(p);
        try {
          const data = await client.pread(fd, length, offset);
          const size = (await client.stat(p)).size;
          return {
            content: data.toString(encoding),
            encoding,
            offset,
            bytes: data.length,
            size,
            eof: offset + data.length >= size,
          };
        } finally {
          await client.close(fd);
        }
      }),
  );

  server.registerTool(
    "write_file",
    {
      title: "Write a file",
      description: `Creates or replaces a file with the given content (UTF-8 text or base64, at most ${MAX_WRITE_BYTES} bytes). Durable when the tool returns.`,
      inputSchema: {
        path,
        content: z.string(),
        encoding: z.enum(["utf8", "base64"]).optional().describe("default utf8"),
        mode: z.number().int().min(0).max(0o7777).optional().describe("default 0o644"),
      },
      outputSchema: { path: z.string(), bytes: z.number() },
    },
    ({ path: p, content, encoding = "utf8", mode = 0o644 }) =>
      attempt(async () => {
        const data = Buffer.from(content, encoding);
        if (data.length > MAX_WRITE_BYTES)
          throw new SandstoreError("EINVAL", p, `content over ${MAX_WRITE_BYTES} bytes`);
        const fd = await client.open(p, O_CREAT | O_TRUNC | O_WRONLY, mode);
        try {
          await client.write(fd, data);
          await client.fsync(fd);
        } finally {
          await client.close(fd);
        }
        return { path: p, bytes: data.length };
      }),
  );

  server.registerTool(
    "make_directory",
    {
      title: "Make a directory",
      description: "Makes a directory; with recursive, its missing parents too (mkdir -p).",
      inputSchema: { path, recursive: z.boolean().optional() },
      outputSchema: statsShape,
    },
    ({ path: p, recursive = false }) =>
      attempt(async () => {
        await client.mkdir(p, { recursive });
        return statsOf(p, await client.stat(p));
      }),
  );

  server.registerTool(
    "move",
    {
      title: "Move or rename",
      description: "Renames a file or directory, replacing an existing file at the destination.",
      inputSchema: { from: path, to: path },
      outputSchema: statsShape,
    },
    ({ from, to }) =>
      attempt(async () => {
        await client.rename(from, to);
        return statsOf(to, await client.stat(to));
      }),
  );

  server.registerTool(
    "delete",
    {
      title: "Delete",
      description:
        "Removes a file, or an empty directory; with recursive, a directory and everything in it.",
      inputSchema: { path, recursive: z.boolean().optional() },
      outputSchema: { path: z.string(), deleted: z.boolean() },
    },
    ({ path: p, recursive = false }) =>
      attempt(async () => {
        const stats = await client.stat(p);
        if (stats.isDirectory() && !recursive) await client.rmdir(p);
        else await client.rm(p, { recursive });
        return { path: p, deleted: true };
      }),
  );

  const memberShape = z.object({
    id: z.string(),
    address: z.string(),
    roles: z.array(z.string()),
    raftRole: z.string().describe("leader, follower, candidate, learner, data or unreachable"),
    term: z.number(),
    live: z.boolean().describe("the member answered this status itself"),
    memberLive: z.boolean().describe("the cluster's membership counts it live"),
    appliedIndex: z.number(),
    chunkCount: z.number(),
    diskFreeBytes: z.number(),
    diskTotalBytes: z.number(),
  });
  const statusShape = {
    topology: z.string(),
    leaderId: z.string(),
    chunkSize: z.number(),
    replicationFactor: z.number(),
    writeQuorum: z.number(),
    members: z.array(memberShape),
  };
  server.registerTool(
    "cluster_status",
    {
      title: "Cluster status",
      description:
        "The topology, the settings, the leader, and every member with its roles, Raft role, term and disk, each as the member itself reports it.",
      inputSchema: {},
      outputSchema: statusShape,
    },
    () => attempt(async () => statusBody(await wholeStatus(cluster))),
  );

  const copyShape = z.object({
    nodeId: z.string(),
    address: z.string(),
    live: z.boolean().describe("the cluster's membership counts the holder live"),
    health: z.enum(COPY_HEALTHS).describe("unverified unless verify was asked"),
  });
  const placementShape = {
    path: z.string(),
    size: z.number(),
    chunkSize: z.number(),
    replicationFactor: z.number(),
    slots: z.array(
      z.object({
        index: z.number(),
        offset: z.number(),
        length: z.number(),
        chunkId: z.string().describe("empty for a slot held inline in the metadata"),
        inline: z.boolean(),
        copies: z.array(copyShape),
      }),
    ),
    nextSlot: z.number().optional().describe("pass as from_slot for the next page"),
  };
  server.registerTool(
    "placement",
    {
      title: "Where a file's chunks are",
      description: `Which nodes hold each chunk of a file, whether each node is live, and with verify, each copy's health after reading it where it lies. At most ${MAX_PLACEMENT_SLOTS} slots a call (16 with verify); page with from_slot.`,
      inputSchema: {
        path,
        from_slot: z.number().int().min(0).optional().describe("first chunk slot; default 0"),
        limit: z.number().int().min(1).max(MAX_PLACEMENT_SLOTS).optional(),
        verify: z.boolean().optional().describe("read every copy and check it; default false"),
      },
      outputSchema: placementShape,
    },
    ({ path: p, from_slot = 0, limit, verify = false }) =>
      attempt(async () => ({
        path: p,
        ...(await client.placement(p, { fromSlot: from_slot, limit, verify })),
      })),
  );

  server.registerTool(
    "transfer_leadership",
    {
      title: "Transfer leadership",
      description:
        "Asks the metadata group's leader to hand leadership to another voter (a given one, or any), waits until a member reports the new leader, and reports it with its term. Needs operator credentials (or root over HTTP).",
      inputSchema: { to: z.string().min(1).optional().describe("the voter to lead; default any") },
      outputSchema: {
        previousLeader: z.string(),
        previousTerm: z.number(),
        requested: z.string(),
        leader: z.string().describe("who leads now, as the members report it"),
        term: z.number(),
        elapsedMs: z.number(),
      },
    },
    ({ to }) =>
      attempt(async () => {
        const mover = cluster.leadership;
        if (!mover)
          throw fsError(
            "EPERM",
            "",
            "moving leadership needs an operator: start `sandstore mcp` with --cluster-token or --tls-dir (over HTTP, call as root)",
          );
        const status = await wholeStatus(cluster);
        const group = status.nodes
          .filter((node) => node.roles.includes("metadata"))
          .map((node) => node.address);
        return { ...(await mover.transfer(group, to)) };
      }),
  );

  server.registerTool(
    "events",
    {
      title: "Recent events",
      description: `Recent elections, repairs, scrub findings and membership changes, as each member saw them, oldest first (at most ${MAX_EVENTS}). Members keep their newest 256, in memory.`,
      inputSchema: {
        kinds: z.array(z.enum(NODE_EVENT_KINDS)).optional().describe("only these kinds"),
        since_ms: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe("only events after this time, ms since the epoch"),
        limit: z.number().int().min(1).max(MAX_EVENTS).optional(),
      },
      outputSchema: {
        events: z.array(
          z.object({
            nodeId: z.string().describe("the member that saw it"),
            timeMs: z.number(),
            kind: z.enum(NODE_EVENT_KINDS),
            message: z.string(),
            subject: z.string(),
            term: z.number(),
          }),
        ),
        unreachable: z.array(z.string()).describe("members that did not answer"),
      },
    },
    ({ kinds, since_ms = 0, limit = MAX_EVENTS }) =>
      attempt(async () => {
        const status = await wholeStatus(cluster, true);
        const wanted = new Set<string>(kinds ?? NODE_EVENT_KINDS);
        const events = status.nodes
          .flatMap((node) =>
            node.events.flatMap((event) => {
              // A kind this server does not know (a newer node's) is left out, not mislabelled.
              const kind = nodeEventKindOf(event.kind);
              if (!kind || !wanted.has(kind) || event.timeMs <= since_ms) return [];
              const { timeMs, message, subject, term, sequence } = event;
              return [{ nodeId: node.id, timeMs, kind, message, subject, term, sequence }];
            }),
          )
          .sort((a, b) => a.timeMs - b.timeMs || a.sequence - b.sequence)
          .slice(-limit)
          .map(({ sequence: _, ...event }) => event);
        const unreachable = status.nodes
          .filter((node) => node.role === "unreachable")
          .map((node) => node.id);
        return { events, unreachable };
      }),
  );

  server.registerResource(
    "cluster-status",
    "sandstore://cluster/status",
    {
      title: "Cluster status",
      description: "The cluster's topology, settings, leader and members, as JSON.",
      mimeType: "application/json",
    },
    async (uri) => jsonResource(uri, statusBody(await wholeStatus(cluster))),
  );

  server.registerResource(
    "file-placement",
    new ResourceTemplate("sandstore://placement{+path}", { list: undefined }),
    {
      title: "A file's placement",
      description:
        "Which nodes hold each chunk of the file at the path (first 1024 slots), as JSON: sandstore://placement/docs/a.txt",
      mimeType: "application/json",
    },
    async (uri, variables) => {
      const p = typeof variables.path === "string" ? decodeURIComponent(variables.path) : "";
      if (!p.startsWith("/"))
        throw fsError("EINVAL", p, "a placement resource names an absolute path");
      return jsonResource(uri, { path: p, ...(await client.placement(p)) });
    },
  );

  server.registerPrompt(
    "explain_cluster",
    {
      title: "Explain this cluster",
      description: "The cluster's status, and what to look at to explain it.",
    },
    async () => ({
      messages: [
        {
          role: "user",
          content: {
            type: "text",
            text: [
              "Explain this Sandstore cluster to me: its topology, who leads the metadata group and in which term, which members hold data, how many copies each chunk gets (R) and how many must be durable before a write is acknowledged (W), and anything that looks unhealthy (members not live, disks nearly full, a term that keeps rising).",
              "Use the `events` tool for recent elections, repairs and membership changes, and the `placement` tool on a file to show where its chunks live.",
              "The cluster's status now:",
              JSON.stringify(statusBody(await wholeStatus(cluster)), null, 2),
            ].join("\n\n"),
          },
        },
      ],
    }),
  );

  server.registerPrompt(
    "walk_through_failover",
    {
      title: "Walk me through a failover",
      description:
        "Steps to move the metadata group's leadership and watch the cluster elect a new leader.",
      argsSchema: {
        to: z.string().optional().describe("the member to hand leadership to; default any"),
      },
    },
    async ({ to }) => ({
      messages: [
        {
          role: "user",
          content: {
            type: "text",
            text: [
              "Walk me through a failover of this Sandstore cluster, one step at a time, saying what each step shows:",
              "1. Call `cluster_status`: note the leader and the term.",
              `2. Call \`transfer_leadership\`${to ? ` with to = "${to}"` : ""}: the leader hands over, and a member reports the new leader in a higher term. (Raft: the target is told to campaign at once, and wins because its log is up to date.)`,
              '3. Call `events` with kinds ["election"]: each member\'s view of the change.',
              "4. Write and read a small file (`write_file`, `read_file`) to show the cluster serves under its new leader.",
              "5. Explain what a crash of the leader would add: followers wait out an election timeout before they campaign, pre-vote keeps a partitioned node from disrupting the group, and writes acknowledged before the crash survive it.",
            ].join("\n"),
          },
        },
      ],
    }),
  );

  return server;
}
