/**
 * `sandstore mcp` (issue 20, first step): the MCP SDK's own client starts the command over
 * stdio against a running node and calls every tool; bad arguments and refused operations
 * are tool errors carrying their POSIX code, and the server goes on answering.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { freePorts } from "../src/common/free-ports.ts";
import { NODE_RUNTIME_FLAGS } from "../src/common/runtime-flags.ts";
import { CLI, type NodeProcess, startNode } from "./helpers/node-process.ts";

/** What a tool call gave back, as the client sees it. */
interface ToolAnswer {
  readonly isError?: boolean;
  readonly content: ReadonlyArray<{ readonly type: string; readonly text?: string }>;
  readonly structuredContent?: Record<string, unknown>;
  readonly _meta?: Record<string, unknown>;
}

describe("sandstore mcp over stdio", () => {
  let node: NodeProcess;
  let client: Client;

  before(async () => {
    node = await startNode();
    client = new Client({ name: "sandstore-test", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [...NODE_RUNTIME_FLAGS, CLI, "mcp", "--cluster", node.address],
        stderr: "ignore",
      }),
    );
  });
  after(async () => {
    await client.close();
    await node.stop();
  });

  const call = async (name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> =>
    (await client.callTool({ name, arguments: args })) as ToolAnswer;
  const ok = async (name: string, args: Record<string, unknown> = {}) => {
    const answer = await call(name, args);
    assert.ok(!answer.isError, `${name}: ${JSON.stringify(answer.content)}`);
    assert.ok(answer.structuredContent, `${name} answers with structured content`);
    assert.deepEqual(JSON.parse(answer.content[0]?.text ?? ""), answer.structuredContent);
    return answer.structuredContent;
  };
  const refused = async (name: string, args: Record<string, unknown>, errno: string) => {
    const answer = await call(name, args);
    assert.equal(answer.isError, true, `${name} ${JSON.stringify(args)} is refused`);
    assert.equal(answer._meta?.errno, errno, JSON.stringify(answer));
    assert.match(answer.content[0]?.text ?? "", new RegExp(`^${errno}`));
  };

  test("every tool is listed with input and output schemas", async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), [
      "cluster_status",
      "delete",
      "list_directory",
      "make_directory",
      "move",
      "read_file",
      "stat",
      "write_file",
    ]);
    for (const tool of tools) {
      assert.equal(tool.inputSchema.type, "object", tool.name);
      assert.equal(tool.outputSchema?.type, "object", tool.name);
    }
  });

  test("files: make, write, list, stat, read in pieces, move and delete", async () => {
    await ok("make_directory", { path: "/notes/2026", recursive: true });
    assert.deepEqual(
      await ok("write_file", { path: "/notes/2026/a.txt", content: "hello, store\n" }),
      {
        path: "/notes/2026/a.txt",
        bytes: 13,
      },
    );
    const binary = Buffer.from([0, 1, 2, 255]);
    await ok("write_file", {
      path: "/notes/2026/b.bin",
      content: binary.toString("base64"),
      encoding: "base64",
    });
    const listing = await ok("list_directory", { path: "/notes/2026" });
    const entries = listing.entries as Array<{ name: string; type: string; size: number }>;
    assert.deepEqual(
      entries.map((e) => [e.name, e.type, e.size]),
      [
        ["a.txt", "file", 13],
        ["b.bin", "file", 4],
      ],
    );
    assert.equal(listing.more, false);
    const page = await ok("list_directory", { path: "/notes/2026", limit: 1 });
    assert.equal(page.more, true);
    const next = await ok("list_directory", { path: "/notes/2026", after: "a.txt" });
    assert.deepEqual(
      (next.entries as Array<{ name: string }>).map((e) => e.name),
      ["b.bin"],
    );
    assert.equal((await ok("stat", { path: "/notes" })).type, "directory");
    assert.deepEqual(await ok("read_file", { path: "/notes/2026/a.txt", offset: 7, length: 5 }), {
      content: "store",
      encoding: "utf8",
      offset: 7,
      bytes: 5,
      size: 13,
      eof: false,
    });
    const bytes = await ok("read_file", { path: "/notes/2026/b.bin", encoding: "base64" });
    assert.equal(bytes.content, binary.toString("base64"));
    assert.equal(bytes.eof, true);
    assert.equal((await ok("move", { from: "/notes/2026/a.txt", to: "/notes/a.txt" })).size, 13);
    await refused("stat", { path: "/notes/2026/a.txt" }, "ENOENT");
    await refused("delete", { path: "/notes" }, "ENOTEMPTY");
    assert.deepEqual(await ok("delete", { path: "/notes", recursive: true }), {
      path: "/notes",
      deleted: true,
    });
    await refused("list_directory", { path: "/notes" }, "ENOENT");
  });

  test("cluster_status names the topology, the leader and every member with its roles", async () => {
    const status = await ok("cluster_status");
    assert.equal(status.topology, "single");
    const members = status.members as Array<{ id: string; roles: string[]; raftRole: string }>;
    assert.equal(members.length, 1);
    assert.equal(members[0]?.id, status.leaderId);
    assert.equal(members[0]?.raftRole, "leader");
  });

  test("bad arguments and refused operations are tool errors; the server answers on", async () => {
    await refused("stat", { path: "relative/path" }, "EINVAL");
    await refused("read_file", { path: "/" }, "EISDIR");
    await refused("write_file", { path: "/missing/dir/f", content: "x" }, "ENOENT");
    await refused("move", { from: "/", to: "/x" }, "EINVAL");
    for (const args of [
      {},
      { path: 7 },
      { path: "/", length: -1 },
      { path: "/", length: 2 ** 30 },
    ]) {
      const answer = await call("read_file", args);
      assert.equal(answer.isError, true, `read_file ${JSON.stringify(args)}`);
    }
    const unknown = await call("no_such_tool").catch((error: unknown) => error);
    assert.ok(unknown instanceof Error || (unknown as ToolAnswer).isError, "an unknown tool fails");
    assert.equal((await ok("stat", { path: "/" })).type, "directory", "still answering");
  });
});

describe("MCP over Streamable HTTP at /mcp on a node's --http port", () => {
  let node: NodeProcess;
  let base = "";

  before(async () => {
    const [http] = await freePorts(1);
    node = await startNode({ args: ["--http", `127.0.0.1:${http}`] });
    base = `http://127.0.0.1:${http}`;
  });
  after(async () => {
    await node.stop();
  });

  test("the SDK's client calls every tool; errors carry their code; GET is 405", async () => {
    const client = new Client({ name: "sandstore-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    try {
      const call = async (name: string, args: Record<string, unknown> = {}) =>
        (await client.callTool({ name, arguments: args })) as ToolAnswer;
      const { tools } = await client.listTools();
      assert.equal(tools.length, 8);
      for (const [name, args] of [
        ["make_directory", { path: "/web" }],
        ["write_file", { path: "/web/a.txt", content: "over http\n" }],
        ["stat", { path: "/web/a.txt" }],
        ["list_directory", { path: "/web" }],
        ["read_file", { path: "/web/a.txt" }],
        ["move", { from: "/web/a.txt", to: "/web/b.txt" }],
        ["cluster_status", {}],
        ["delete", { path: "/web", recursive: true }],
      ] as const) {
        const answer = await call(name, args);
        assert.ok(!answer.isError, `${name}: ${JSON.stringify(answer.content)}`);
        assert.ok(answer.structuredContent, name);
      }
      const missing = await call("stat", { path: "/web" });
      assert.equal(missing.isError, true);
      assert.equal(missing._meta?.errno, "ENOENT");
    } finally {
      await client.close();
    }
    const get = await fetch(`${base}/mcp`, { headers: { accept: "text/event-stream" } });
    assert.equal(get.status, 405);
    await get.body?.cancel();
  });
});
