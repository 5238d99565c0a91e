/**
 * The MCP server: a running cluster as tools an AI assistant can call, through the SDK as one
 * user (the `--user` the command was given). Every tool validates its input by schema and
 * answers with structured content as well as text. A failure is a tool error whose text
 * starts with the POSIX code and whose `_meta.errno` carries it; a tool never reports success
 * for something that did not happen, because each one returns only after the SDK call it
 * makes has returned.
 *
 * Limits: a read returns at most MAX_READ_BYTES, a write takes at most MAX_WRITE_BYTES, a
 * listing at most MAX_LIST_ENTRIES entries per call (page with `after`).
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { Stats } from "../client/namespace-operations.ts";
import type { SandstoreClient } from "../client/sandstore-client.ts";
import { SandstoreError, UnavailableError } from "../common/errors.ts";
import { FILE_KINDS } from "../common/file-kinds.ts";
import { O_CREAT, O_TRUNC, O_WRONLY } from "../index.ts";

/** Most bytes one read_file returns: a model reads a file in pieces, not whole. */
export const MAX_READ_BYTES = 1024 * 1024;
/** Most bytes one write_file takes (the JSON-RPC message carries them whole). */
export const MAX_WRITE_BYTES = 4 * 1024 * 1024;
/** Most entries one list_directory returns. */
export const MAX_LIST_ENTRIES = 1000;

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

/** The MCP server over `client`; the caller connects it to a transport and owns `client`. */
export function sandstoreMcpServer(client: SandstoreClient): McpServer {
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

  server.registerTool(
    "cluster_status",
    {
      title: "Cluster status",
      description:
        "The topology, the settings, the leader, and every member with its roles, Raft role, term and disk.",
      inputSchema: {},
      outputSchema: {
        topology: z.string(),
        leaderId: z.string(),
        chunkSize: z.number(),
        replicationFactor: z.number(),
        writeQuorum: z.number(),
        members: z.array(
          z.object({
            id: z.string(),
            address: z.string(),
            roles: z.array(z.string()),
            raftRole: z.string(),
            term: z.number(),
            live: z.boolean(),
            appliedIndex: z.number(),
            chunkCount: z.number(),
            diskFreeBytes: z.number(),
            diskTotalBytes: z.number(),
          }),
        ),
      },
    },
    () =>
      attempt(async () => {
        const status = await client.status();
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
            appliedIndex: node.appliedIndex,
            chunkCount: node.chunkCount,
            diskFreeBytes: node.diskFreeBytes,
            diskTotalBytes: node.diskTotalBytes,
          })),
        };
      }),
  );

  return server;
}
