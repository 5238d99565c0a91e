/**
 * `sandstore mcp` (issue 20): the MCP SDK's own client starts the command over stdio against
 * a running node, and talks to `/mcp` on a node's HTTP port, calling every tool, reading the
 * resources and getting the prompts; bad arguments and refused operations are tool errors
 * carrying their POSIX code, and the server goes on answering. On a cluster of three, a
 * leadership transfer changes the leader and the report says so, the events say who saw
 * which election, and placement finds a damaged copy. The MCP Inspector's CLI (v1, which
 * runs on Node 20) lists and calls the tools too.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile as readFileOnDisk, writeFile as writeFileOnDisk } from "node:fs/promises";
import { basename } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { freePorts } from "../src/common/free-ports.ts";
import { NODE_RUNTIME_FLAGS } from "../src/common/runtime-flags.ts";
import { connect } from "../src/index.ts";
import { Cluster, writeFile } from "./helpers/hyperconverged-cluster.ts";
import { mcpOverStdio } from "./helpers/mcp-client.ts";
import { CLI, type NodeProcess, startNode, waitFor } from "./helpers/node-process.ts";

const run = promisify(execFile);

/** Every tool the server offers. */
const TOOLS = [
  "cluster_status",
  "delete",
  "events",
  "list_directory",
  "make_directory",
  "move",
  "placement",
  "read_file",
  "stat",
  "transfer_leadership",
  "write_file",
];

/** The MCP Inspector's CLI (v1.0.3: its CLI runs on Node 20; v2 needs Node 22). */
const INSPECTOR = new URL(
  "../node_modules/@modelcontextprotocol/inspector/cli/build/cli.js",
  import.meta.url,
).pathname;

/** Runs the Inspector's CLI with `args` and parses the JSON it prints. */
async function inspector(args: readonly string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [INSPECTOR, "--cli", ...args], {
    timeout: 60_000,
  });
  // It prints a deprecation banner before the answer.
  return JSON.parse(stdout.slice(stdout.indexOf("{")));
}

/** What a tool call gave back, as the client sees it. */
interface ToolAnswer {
  readonly isError?: boolean;
  readonly content: ReadonlyArray<{ readonly type: string; readonly text?: string }>;
  readonly structuredContent?: Record<string, unknown>;
  readonly _meta?: Record<string, unknown>;
}

/** Calls of `client`'s tools: any answer, a success's structured content, a refusal's code. */
function tools(client: () => Client) {
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> =>
    (await client().callTool({ name, arguments: args })) as ToolAnswer;
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
    return answer;
  };
  return { call, ok, refused };
}

/** The text of a resource's one document. */
function resourceText(result: { contents: ReadonlyArray<object> }): string {
  const content = result.contents[0];
  assert.ok(content && "text" in content && typeof content.text === "string", "a text document");
  return content.text;
}

/** A placement's slots as the tool answers them. */
type Slots = Array<{
  index: number;
  chunkId: string;
  inline: boolean;
  copies: Array<{ nodeId: string; live: boolean; health: string }>;
}>;

describe("sandstore mcp over stdio", () => {
  let node: NodeProcess;
  let client: Client;

  before(async () => {
    node = await startNode();
    client = await mcpOverStdio(["--cluster", node.address]);
  });
  after(async () => {
    await client.close();
    await node.stop();
  });

  const { call, ok, refused } = tools(() => client);

  test("every tool is listed with input and output schemas", async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), TOOLS);
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

  test("placement: a file's slots and copies; verified, each copy is good", async () => {
    await ok("make_directory", { path: "/placed" });
    await ok("write_file", {
      path: "/placed/big.bin",
      content: Buffer.alloc(40 * 1024, 7).toString("base64"),
      encoding: "base64",
    });
    await ok("write_file", { path: "/placed/small.txt", content: "inline" });
    const big = await ok("placement", { path: "/placed/big.bin", verify: true });
    const slots = big.slots as Slots;
    assert.equal(big.size, 40 * 1024);
    assert.ok(slots.length >= 1);
    for (const slot of slots) {
      assert.equal(slot.inline, false);
      assert.deepEqual(slot.copies, [
        { nodeId: "n1", address: node.address, live: true, health: "good" },
      ]);
    }
    const small = (await ok("placement", { path: "/placed/small.txt" })).slots as Slots;
    assert.deepEqual(
      small.map((slot) => [slot.inline, slot.copies.length]),
      [[true, 0]],
    );
    await refused("placement", { path: "/placed" }, "EISDIR");
    await refused("placement", { path: "/placed/big.bin", verify: true, limit: 17 }, "EINVAL");
    await refused("placement", { path: "/placed/none" }, "ENOENT");
  });

  test("events answers; moving leadership without an operator's credentials is EPERM", async () => {
    const events = await ok("events");
    assert.ok(Array.isArray(events.events));
    assert.deepEqual(events.unreachable, []);
    const answer = await refused("transfer_leadership", {}, "EPERM");
    assert.match(answer.content[0]?.text ?? "", /--cluster-token/);
  });

  test("resources: the cluster's status and a file's placement; prompts name the tools", async () => {
    const { resources } = await client.listResources();
    assert.deepEqual(
      resources.map((resource) => resource.uri),
      ["sandstore://cluster/status"],
    );
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(
      resourceTemplates.map((template) => template.uriTemplate),
      ["sandstore://placement{+path}"],
    );
    const status = await client.readResource({ uri: "sandstore://cluster/status" });
    const body = JSON.parse(resourceText(status));
    assert.equal(body.topology, "single");
    await ok("write_file", { path: "/res.txt", content: "x" });
    const placed = await client.readResource({ uri: "sandstore://placement/res.txt" });
    assert.equal(JSON.parse(resourceText(placed)).path, "/res.txt");
    const missing = await client
      .readResource({ uri: "sandstore://placement/no/such" })
      .catch((error: unknown) => error);
    assert.ok(missing instanceof Error && /ENOENT|no such file/.test(missing.message));

    const { prompts } = await client.listPrompts();
    assert.deepEqual(prompts.map((prompt) => prompt.name).sort(), [
      "explain_cluster",
      "walk_through_failover",
    ]);
    const explain = await client.getPrompt({ name: "explain_cluster" });
    const text = JSON.stringify(explain.messages);
    assert.match(text, /single/);
    assert.match(text, /events/);
    const failover = await client.getPrompt({
      name: "walk_through_failover",
      arguments: { to: "n2" },
    });
    assert.match(JSON.stringify(failover.messages), /transfer_leadership.*n2/);
  });

  test("the MCP Inspector's CLI lists and calls the tools over stdio", async () => {
    const server = [process.execPath, ...NODE_RUNTIME_FLAGS, CLI, "mcp", "--cluster", node.address];
    const listed = (await inspector([...server, "--method", "tools/list"])).tools as Array<{
      name: string;
    }>;
    assert.deepEqual(listed.map((tool) => tool.name).sort(), TOOLS);
    const stat = await inspector([
      ...server,
      ...["--method", "tools/call", "--tool-name", "stat", "--tool-arg", "path=/"],
    ]);
    assert.equal((stat.structuredContent as { type: string }).type, "directory");
    const prompts = (await inspector([...server, "--method", "prompts/list"])).prompts;
    assert.equal((prompts as unknown[]).length, 2);
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
      assert.equal(tools.length, TOOLS.length);
      for (const [name, args] of [
        ["make_directory", { path: "/web" }],
        ["write_file", { path: "/web/a.txt", content: "over http\n" }],
        ["stat", { path: "/web/a.txt" }],
        ["list_directory", { path: "/web" }],
        ["read_file", { path: "/web/a.txt" }],
        ["move", { from: "/web/a.txt", to: "/web/b.txt" }],
        ["cluster_status", {}],
        ["placement", { path: "/web/b.txt" }],
        ["events", {}],
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

  test("the MCP Inspector's CLI calls the tools over HTTP", async () => {
    const server = [`${base}/mcp`, "--transport", "http"];
    const listed = (await inspector([...server, "--method", "tools/list"])).tools;
    assert.equal((listed as unknown[]).length, TOOLS.length);
    const status = await inspector([
      ...server,
      ...["--method", "tools/call", "--tool-name", "cluster_status"],
    ]);
    assert.equal((status.structuredContent as { topology: string }).topology, "single");
  });
});

describe("MCP on a cluster of three: leadership, events, placement", () => {
  const CHUNK = 64 * 1024;
  // No repair pass after the first (at start): the copy damaged below stays damaged.
  const cluster = new Cluster({
    http: true,
    nodeArgs: ["--chunk-size", String(CHUNK), "--repair-interval-ms", "3600000"],
  });
  let client: Client;
  const { ok } = tools(() => client);

  before(async () => {
    await cluster.start();
    await cluster.leader();
    client = await mcpOverStdio([
      ...["--cluster", cluster.addresses.join(",")],
      ...["--cluster-token", cluster.token],
    ]);
  });
  after(async () => {
    await client.close();
    await cluster.close();
  });

  test("a transfer changes the leader and says so; every member saw the election", async () => {
    const before = await ok("cluster_status");
    const members = before.members as Array<{ id: string; raftRole: string; term: number }>;
    assert.equal(members.length, 3);
    assert.deepEqual(members.map((member) => member.raftRole).sort(), [
      "follower",
      "follower",
      "leader",
    ]);
    const to = members.find((member) => member.id !== before.leaderId)?.id ?? "";
    const moved = await ok("transfer_leadership", { to });
    assert.equal(moved.previousLeader, before.leaderId);
    assert.equal(moved.requested, to);
    assert.equal(moved.leader, to);
    assert.ok(Number(moved.term) > Number(moved.previousTerm));
    const after = await ok("cluster_status");
    assert.equal(after.leaderId, to);

    await waitFor(
      async () => {
        const seen = (await ok("events", { kinds: ["election"] })).events as Array<{
          nodeId: string;
          subject: string;
          term: number;
        }>;
        const saw = new Set(
          seen.filter((e) => e.subject === to && e.term === moved.term).map((e) => e.nodeId),
        );
        return saw.size === 3;
      },
      "every member to record the new leader's election",
      10_000,
    );
    const again = await ok("transfer_leadership", {});
    assert.notEqual(again.leader, to, "without `to`, another voter leads");
  });

  test("placement shows R copies on live nodes, and a damaged copy as damaged", async () => {
    const sdk = connect(cluster.addresses);
    try {
      await writeFile(sdk, "/placed.bin", Buffer.alloc(2 * CHUNK, 1));
    } finally {
      await sdk.closeClient();
    }
    const placed = await ok("placement", { path: "/placed.bin", verify: true });
    const slots = placed.slots as Slots;
    assert.equal(placed.replicationFactor, 3);
    assert.equal(slots.length, 2);
    for (const slot of slots)
      assert.deepEqual(slot.copies.map((copy) => [copy.nodeId, copy.live, copy.health]).sort(), [
        ["n1", true, "good"],
        ["n2", true, "good"],
        ["n3", true, "good"],
      ]);
    // Damage n3's copy of the first chunk on its disk: a verifying placement finds it.
    const target = slots[0]?.chunkId ?? "";
    const file = (await cluster.chunkFiles(2)).find((f) => basename(f).startsWith(target));
    assert.ok(file, `n3 holds chunk ${target}`);
    const bytes = await readFileOnDisk(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFileOnDisk(file, bytes);
    const damaged = (await ok("placement", { path: "/placed.bin", verify: true })).slots as Slots;
    assert.deepEqual(damaged[0]?.copies.map((copy) => [copy.nodeId, copy.health]).sort(), [
      ["n1", "good"],
      ["n2", "good"],
      ["n3", "damaged"],
    ]);
    assert.ok(damaged[1]?.copies.every((copy) => copy.health === "good"));
  });

  test("a node stopping and starting shows as membership events; over HTTP, root moves leadership", async () => {
    const http = new Client({ name: "sandstore-test", version: "1.0.0" });
    await http.connect(
      new StreamableHTTPClientTransport(new URL(`http://${cluster.httpAddresses[0]}/mcp`)),
    );
    try {
      const viaHttp = tools(() => http);
      const leader = await cluster.leader();
      const follower = cluster.indexes.find((i) => i !== leader && i !== 0) ?? 1;
      const id = `n${follower + 1}`;
      await cluster.kill(follower);
      const seen = async (text: string) =>
        (
          (await viaHttp.ok("events", { kinds: ["membership"] })).events as Array<{
            nodeId: string;
            subject: string;
            message: string;
          }>
        ).some((e) => e.subject === id && e.message.includes(text));
      await waitFor(() => seen("no longer live"), `${id} to be reported not live`, 20_000);
      await cluster.startNode(follower);
      await waitFor(() => seen("live again"), `${id} to be reported live again`, 20_000);
      await cluster.leader();
      const moved = await viaHttp.ok("transfer_leadership", {});
      assert.ok(Number(moved.term) > Number(moved.previousTerm));
      assert.notEqual(moved.leader, moved.previousLeader);
    } finally {
      await http.close();
    }
  });
});
