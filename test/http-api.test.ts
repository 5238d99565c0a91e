/**
 * Every node's HTTP port (issue 17): health and readiness, `/metrics` checked by Prometheus's
 * own parser (`promtool check metrics`), and the REST API under `/api/v1`: every route, bad
 * input, Range edge cases and auth, on a single node; then the same port on each node of a
 * hyperconverged, a disaggregated and a key-value cluster.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { commandInstalled } from "../src/common/command-installed.ts";
import { freePorts } from "../src/common/free-ports.ts";
import { Cluster } from "./helpers/hyperconverged-cluster.ts";
import { type NodeProcess, runCli, startNode, waitFor } from "./helpers/node-process.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

interface Credentials {
  readonly accessKeyId: string;
  readonly secret: string;
}

/** A `fetch` of `base` + `path` as `who` (HTTP Basic), or as no one. */
function caller(base: string, who?: Credentials) {
  return (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (who)
      headers.set(
        "authorization",
        `Basic ${Buffer.from(`${who.accessKeyId}:${who.secret}`).toString("base64")}`,
      );
    return fetch(`${base}${path}`, { ...init, headers });
  };
}

async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { error: { code: string } };
  return body.error.code;
}

/** Runs Prometheus's own parser over `text`; resolves with what it printed when it refuses. */
async function promtoolProblems(text: string): Promise<string> {
  const child = execFile("promtool", ["check", "metrics"]);
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on("data", (chunk) => {
    output += String(chunk);
  });
  child.stdin?.end(text);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return code === 0 ? "" : output || `promtool exited ${code}`;
}

describe("the HTTP port of a single node, with --auth required", () => {
  let node: NodeProcess;
  let base = "";
  const token = randomBytes(16).toString("hex");
  let admin: Credentials;
  let alice: Credentials;

  before(async () => {
    const [http] = await freePorts(1);
    node = await startNode({
      args: [
        ...["--auth", "required", "--cluster-token", token],
        ...["--chunk-size", String(MiB), "--http", `127.0.0.1:${http}`],
      ],
    });
    base = `http://127.0.0.1:${http}`;
    const addUser = async (name: string, uid: number): Promise<Credentials> => {
      const run = await runCli(
        ["user", "add", name, "--uid", String(uid), "--gid", String(uid), "--json"],
        { SANDSTORE_CLUSTER: node.address, SANDSTORE_CLUSTER_TOKEN: token },
      );
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout.toString()) as Credentials;
    };
    admin = await addUser("admin", 0);
    alice = await addUser("alice", 1000);
  });
  after(async () => {
    await node.stop();
    await rm(node.dataDir, { recursive: true, force: true });
  });

  test("health, readiness and the OpenAPI document need no credentials", async () => {
    const anyone = caller(base);
    const health = await anyone("/healthz");
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok", node: "n1" });
    const ready = await anyone("/readyz");
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { ready: boolean }).ready, true);
    const openapi = (await (await anyone("/api/v1/openapi.json")).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    assert.equal(openapi.openapi, "3.0.3");
    for (const [path, methods] of [
      ["/api/v1/files/{*}", ["get", "head", "put", "delete"]],
      ["/api/v1/stat/{*}", ["get"]],
      ["/api/v1/list/{*}", ["get"]],
      ["/api/v1/mkdir", ["post"]],
      ["/api/v1/rename", ["post"]],
      ["/api/v1/placement/{*}", ["get"]],
      ["/api/v1/cluster/status", ["get"]],
      ["/api/v1/cluster/members", ["get"]],
    ] as const)
      for (const method of methods) assert.ok(openapi.paths[path]?.[method], `${method} ${path}`);
    const unknown = await anyone("/api/v1/no-such-route");
    assert.equal(unknown.status, 404);
    assert.equal(await errorCode(unknown), "ENOENT");
  });

  test("file routes refuse a request without valid credentials with 401, and change nothing", async () => {
    for (const [who, header] of [
      [undefined, undefined],
      [{ accessKeyId: admin.accessKeyId, secret: alice.secret }, undefined],
      [{ accessKeyId: "SKNOSUCHKEY", secret: "x" }, undefined],
      [undefined, "Bearer abc"],
      [undefined, `Basic ${Buffer.from("no-colon").toString("base64")}`],
    ] as const) {
      const response = await caller(base, who)("/api/v1/files/refused.txt", {
        method: "PUT",
        body: "nope",
        headers: header ? { authorization: header } : {},
      });
      assert.equal(response.status, 401, `${JSON.stringify(who)} ${header}`);
      assert.match(response.headers.get("www-authenticate") ?? "", /^Basic/);
      assert.equal(await errorCode(response), "EACCES");
    }
    const stat = await caller(base, admin)("/api/v1/stat/refused.txt");
    assert.equal(stat.status, 404);
    assert.equal(await errorCode(stat), "ENOENT");
  });

  test("/mcp calls as the request's user: 401 without credentials, EACCES past them, EPERM to move leadership", async () => {
    const unauthenticated = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(unauthenticated.status, 401);
    assert.equal(await errorCode(unauthenticated), "EACCES");
    const basic = `Basic ${Buffer.from(`${alice.accessKeyId}:${alice.secret}`).toString("base64")}`;
    const client = new Client({ name: "sandstore-test", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { authorization: basic } },
      }),
    );
    try {
      const listed = await client.callTool({ name: "list_directory", arguments: { path: "/" } });
      assert.ok(!listed.isError, JSON.stringify(listed.content));
      const refused = await client.callTool({
        name: "write_file",
        arguments: { path: "/alice-may-not.txt", content: "x" },
      });
      assert.equal(refused.isError, true, "the root directory is root's");
      assert.equal((refused._meta as Record<string, unknown> | undefined)?.errno, "EACCES");
      const transfer = await client.callTool({ name: "transfer_leadership", arguments: {} });
      assert.equal(transfer.isError, true, "leadership is root's to move");
      assert.equal((transfer._meta as Record<string, unknown> | undefined)?.errno, "EPERM");
    } finally {
      await client.close();
    }
  });

  test("upload, download with every kind of Range, HEAD, stat", async () => {
    const as = caller(base, admin);
    const data = randomBytes(3 * MiB + 77);
    const put = await as("/api/v1/files/docs/big.bin?parents=true", { method: "PUT", body: data });
    assert.equal(put.status, 201);
    const made = (await put.json()) as { size: number; type: string; path: string };
    assert.deepEqual([made.size, made.type, made.path], [data.length, "file", "/docs/big.bin"]);

    const whole = await as("/api/v1/files/docs/big.bin");
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get("accept-ranges"), "bytes");
    assert.equal(whole.headers.get("content-length"), String(data.length));
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(data));

    const size = data.length;
    const ranges: Array<[string, number, number]> = [
      ["bytes=0-0", 0, 1],
      ["bytes=1048570-1048590", 1048570, 1048591],
      ["bytes=-10", size - 10, size],
      [`bytes=${size - 5}-`, size - 5, size],
      [`bytes=${size - 5}-${size + 1000}`, size - 5, size],
      ["bytes=-99999999", 0, size],
    ];
    for (const [range, start, end] of ranges) {
      const response = await as("/api/v1/files/docs/big.bin", { headers: { range } });
      assert.equal(response.status, 206, range);
      assert.equal(response.headers.get("content-range"), `bytes ${start}-${end - 1}/${size}`);
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(data.subarray(start, end)), range);
    }
    // Not one bytes range: the whole file, as RFC 9110 lets a server do.
    for (const range of ["bytes=5-1", "bytes=0-1,4-5", "pages=1-2"]) {
      const response = await as("/api/v1/files/docs/big.bin", { headers: { range } });
      assert.equal(response.status, 200, range);
      assert.equal((await response.arrayBuffer()).byteLength, size, range);
    }
    for (const range of [`bytes=${size}-`, "bytes=-0"]) {
      const response = await as("/api/v1/files/docs/big.bin", { headers: { range } });
      assert.equal(response.status, 416, range);
      assert.equal(response.headers.get("content-range"), `bytes */${size}`);
      assert.equal(await errorCode(response), "EINVAL");
    }

    const head = await as("/api/v1/files/docs/big.bin", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(size));
    assert.equal((await head.arrayBuffer()).byteLength, 0);

    const empty = await as("/api/v1/files/docs/empty", { method: "PUT", body: "" });
    assert.equal(empty.status, 201);
    const emptyBack = await as("/api/v1/files/docs/empty");
    assert.equal(emptyBack.status, 200);
    assert.equal((await emptyBack.arrayBuffer()).byteLength, 0);
    const emptyRange = await as("/api/v1/files/docs/empty", { headers: { range: "bytes=0-" } });
    assert.equal(emptyRange.status, 416);
    await emptyRange.arrayBuffer();

    const stat = (await (await as("/api/v1/stat/docs")).json()) as { type: string; mode: number };
    assert.deepEqual([stat.type, stat.mode], ["directory", 0o755]);
    const directory = await as("/api/v1/files/docs");
    assert.equal(directory.status, 409);
    assert.equal(await errorCode(directory), "EISDIR");

    // Its chunks: 1 MiB slots, one copy each on n1, a page at a time.
    const placement = (await (await as("/api/v1/placement/docs/big.bin?limit=2")).json()) as {
      size: number;
      chunkSize: number;
      slots: Array<{ index: number; length: number; copies: Array<{ nodeId: string }> }>;
      nextSlot?: number;
    };
    assert.equal(placement.chunkSize, MiB);
    assert.deepEqual(
      placement.slots.map((slot) => [slot.index, slot.length, slot.copies.map((c) => c.nodeId)]),
      [
        [0, MiB, ["n1"]],
        [1, MiB, ["n1"]],
      ],
    );
    assert.equal(placement.nextSlot, 2);
    const rest = (await (await as("/api/v1/placement/docs/big.bin?from=2")).json()) as {
      slots: Array<{ index: number }>;
      nextSlot?: number;
    };
    assert.deepEqual(
      rest.slots.map((slot) => slot.index),
      [2, 3],
    );
    assert.equal(rest.nextSlot, undefined);
  });

  test("an upload lands whole or not at all; exclusive refuses an existing file", async () => {
    const as = caller(base, admin);
    assert.equal((await as("/api/v1/files/keep.txt", { method: "PUT", body: "v1" })).status, 201);
    const exclusive = await as("/api/v1/files/keep.txt?exclusive=true", {
      method: "PUT",
      body: "v2",
    });
    assert.equal(exclusive.status, 409);
    assert.equal(await errorCode(exclusive), "EEXIST");

    // An upload cut off part way leaves the file as it was, and no staged bytes behind.
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 2 * MiB) {
          controller.error(new Error("the client went away"));
          return;
        }
        sent += 256 * KiB;
        controller.enqueue(randomBytes(256 * KiB));
      },
    });
    await assert.rejects(
      as("/api/v1/files/keep.txt", { method: "PUT", body, duplex: "half" } as RequestInit),
    );
    assert.equal(await (await as("/api/v1/files/keep.txt")).text(), "v1");
    await waitFor(async () => {
      const list = (await (await as("/api/v1/list/")).json()) as { entries: { name: string }[] };
      return !list.entries.some((entry) => entry.name.startsWith(".sandstore-upload"));
    }, "the cut-off upload's staged bytes to be removed");
  });

  test("mkdir, list with paging, rename, delete, and bad input named", async () => {
    const as = caller(base, admin);
    const mkdir = await as("/api/v1/mkdir", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: "/many/deep", parents: true }),
    });
    assert.equal(mkdir.status, 201);
    const again = await as("/api/v1/mkdir", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: "/many" }),
    });
    assert.equal(again.status, 409);
    assert.equal(await errorCode(again), "EEXIST");
    for (const name of ["e", "a", "d", "b", "c"])
      await as(`/api/v1/files/many/${name}`, { method: "PUT", body: name });

    const names: string[] = [];
    let after = "";
    for (let pages = 0; ; pages++) {
      assert.ok(pages < 10);
      const page = (await (
        await as(`/api/v1/list/many?limit=2${after ? `&after=${after}` : ""}`)
      ).json()) as { entries: { name: string; type: string }[]; next?: string };
      assert.ok(page.entries.length <= 2);
      names.push(...page.entries.map((entry) => entry.name));
      if (page.next === undefined) break;
      after = page.next;
    }
    assert.deepEqual(names, ["a", "b", "c", "d", "deep", "e"]);

    const rename = await as("/api/v1/rename", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ from: "/many/a", to: "/many/z" }),
    });
    assert.equal(rename.status, 200);
    assert.equal(await (await as("/api/v1/files/many/z")).text(), "a");
    assert.equal((await as("/api/v1/stat/many/a")).status, 404);

    const notEmpty = await as("/api/v1/files/many", { method: "DELETE" });
    assert.equal(notEmpty.status, 409);
    assert.equal(await errorCode(notEmpty), "ENOTEMPTY");
    assert.equal((await as("/api/v1/files/many/z", { method: "DELETE" })).status, 204);
    assert.equal((await as("/api/v1/files/many?recursive=true", { method: "DELETE" })).status, 204);
    assert.equal((await as("/api/v1/stat/many")).status, 404);

    // Bad input: each refusal is 400 EINVAL and names what was wrong.
    const bad: Array<[string, RequestInit, RegExp]> = [
      ["/api/v1/list/?limit=0", {}, /limit must be >= 1/],
      ["/api/v1/list/?limit=abc", {}, /limit must be integer/],
      ["/api/v1/list/?colour=red", {}, /must NOT have additional properties/],
      ["/api/v1/placement/keep.txt?from=-1", {}, /from must be >= 0/],
      ["/api/v1/files/x?mode=99999", { method: "PUT", body: "x" }, /mode must be <= 4095/],
      [
        "/api/v1/mkdir",
        { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" },
        /JSON/i,
      ],
      [
        "/api/v1/mkdir",
        { method: "POST", headers: { "content-type": "application/json" }, body: "{}" },
        /must have required property 'path'/,
      ],
      [
        "/api/v1/rename",
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ from: "/a", to: "/b", force: true }),
        },
        /must NOT have additional properties/,
      ],
    ];
    for (const [path, init, message] of bad) {
      const response = await as(path, init);
      assert.equal(response.status, 400, path);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, "EINVAL", path);
      assert.match(body.error.message, message, path);
    }
    const relative = await as("/api/v1/mkdir", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: "no-slash" }),
    });
    assert.equal(relative.status, 400);
    assert.equal(await errorCode(relative), "EINVAL");
  });

  test("a user is held to the permission bits: 403, and nothing staged is left", async () => {
    const root = caller(base, admin);
    const user = caller(base, alice);
    await root("/api/v1/mkdir", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: "/private", mode: 0o700 }),
    });
    await root("/api/v1/files/private/secret.txt", { method: "PUT", body: "root's" });
    const read = await user("/api/v1/files/private/secret.txt");
    assert.equal(read.status, 403);
    assert.equal(await errorCode(read), "EACCES");
    const write = await user("/api/v1/files/shared.txt", { method: "PUT", body: "alice's" });
    assert.equal(write.status, 403, "/ is root's and 0755");
    assert.equal((await user("/api/v1/placement/private/secret.txt")).status, 403);
    const list = (await (await root("/api/v1/list/")).json()) as { entries: { name: string }[] };
    assert.ok(!list.entries.some((entry) => entry.name.startsWith(".sandstore-upload")));
  });

  test("/metrics passes promtool and counts what was done", async () => {
    const response = await caller(base)("/metrics");
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    for (const name of [
      "sandstore_node_info",
      "sandstore_raft_term",
      "sandstore_raft_has_leader",
      "sandstore_raft_applied_index",
      "sandstore_raft_proposals_pending",
      "sandstore_file_operation_duration_seconds_bucket",
      "sandstore_chunk_store_chunks",
      "sandstore_chunk_store_bytes",
      "sandstore_chunk_store_damaged_copies_total",
      "sandstore_disk_free_bytes",
      "sandstore_gc_passes_total",
      "sandstore_service_received_bytes_total",
      "sandstore_auth_refused_total",
      "process_cpu_seconds_total",
    ])
      assert.match(text, new RegExp(`^${name}[ {]`, "m"), name);
    assert.match(text, /^sandstore_auth_refused_total [1-9]/m, "the refused requests above");
    assert.match(
      text,
      /^sandstore_file_operation_duration_seconds_count\{operation="create",result="ok"\} [1-9]/m,
    );
    assert.match(
      text,
      /^sandstore_file_operation_duration_seconds_count\{operation="stat",result="ENOENT"\} [1-9]/m,
    );
    assert.match(text, /^sandstore_service_received_bytes_total\{service="FileService"\} [1-9]/m);
    // .ci/run installs it; a machine without it fails here, saying what to install.
    assert.ok(await commandInstalled("promtool"), "needs promtool: apt-get install prometheus");
    assert.equal(await promtoolProblems(text), "");
  });
});

describe("the HTTP port on every node of a replicated cluster", () => {
  test("hyperconverged: every node ready, the cluster's status, chunk placement, a leader killed", async () => {
    const cluster = new Cluster({ http: true, nodeArgs: ["--chunk-size", String(MiB)] });
    await cluster.start();
    try {
      const leader = await cluster.leader();
      const urls = cluster.httpAddresses.map((address) => `http://${address}`);
      for (const url of urls)
        await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, `${url} ready`);

      const follower = (leader + 1) % 3;
      const as = caller(urls[follower] ?? "");
      const status = (await (await as("/api/v1/cluster/status")).json()) as {
        leaderId: string;
        nodes: { id: string; role: string }[];
      };
      assert.equal(status.leaderId, `n${leader + 1}`);
      assert.deepEqual(status.nodes.map((node) => node.role).sort(), [
        "follower",
        "follower",
        "leader",
      ]);
      // The dashboard's stream: a status event with every node, then more.
      const abort = new AbortController();
      const stream = await as("/api/v1/events", { signal: abort.signal });
      assert.equal(stream.headers.get("content-type"), "text/event-stream");
      const reader = stream.body?.getReader();
      let received = "";
      while (reader && (received.match(/^event: status$/gm) ?? []).length < 2) {
        const { value, done } = await reader.read();
        if (done) break;
        received += Buffer.from(value).toString();
      }
      abort.abort();
      const first = /^data: (.*)$/m.exec(received)?.[1] ?? "{}";
      const event = JSON.parse(first) as { status: { nodes: { id: string }[] } };
      assert.deepEqual(event.status.nodes.map((node) => node.id).sort(), ["n1", "n2", "n3"]);

      const members = (await (await as("/api/v1/cluster/members")).json()) as {
        members: { id: string; roles: string[] }[];
      };
      assert.deepEqual(members.members.map((member) => member.id).sort(), ["n1", "n2", "n3"]);

      const data = randomBytes(2 * MiB + 5);
      assert.equal((await as("/api/v1/files/f.bin", { method: "PUT", body: data })).status, 201);
      const placement = (await (await as("/api/v1/placement/f.bin")).json()) as {
        slots: { inline: boolean; copies: { nodeId: string; address: string; live: boolean }[] }[];
      };
      // Two whole chunks on every node; the 5-byte tail is held in the metadata itself.
      assert.deepEqual(
        placement.slots.map((slot) => slot.inline),
        [false, false, true],
      );
      for (const slot of placement.slots.filter((s) => !s.inline)) {
        assert.deepEqual(slot.copies.map((c) => c.nodeId).sort(), ["n1", "n2", "n3"]);
        for (const copy of slot.copies) {
          assert.match(copy.address, /^127\.0\.0\.1:\d+$/);
          assert.equal(copy.live, true);
        }
      }

      const leaderMetrics = await (await fetch(`${urls[leader]}/metrics`)).text();
      assert.match(leaderMetrics, /^sandstore_raft_is_leader 1$/m);
      assert.match(leaderMetrics, /^sandstore_raft_proposals_total\{outcome="committed"\} [1-9]/m);
      assert.match(leaderMetrics, /^sandstore_raft_wal_fsync_duration_seconds_count [1-9]/m);
      assert.match(leaderMetrics, /^sandstore_maintenance_active 1$/m);
      assert.match(
        leaderMetrics,
        /^sandstore_service_received_bytes_total\{service="RaftService"\}/m,
      );

      // kill -9 the leader: a survivor's metrics and status name another within seconds.
      await cluster.kill(leader);
      const survivor = urls[follower] ?? "";
      await waitFor(async () => {
        const text = await (await fetch(`${survivor}/metrics`)).text();
        const changes = /^sandstore_raft_leader_changes_seen_total (\d+)/m.exec(text);
        const reply = await fetch(`${survivor}/api/v1/cluster/status`);
        const now = (await reply.json()) as { leaderId: string };
        return (
          Number(changes?.[1] ?? 0) >= 2 && now.leaderId !== "" && now.leaderId !== `n${leader + 1}`
        );
      }, "a new leader after the kill");
      const back = await as("/api/v1/files/f.bin");
      assert.ok(Buffer.from(await back.arrayBuffer()).equals(data));
    } finally {
      await cluster.close();
    }
  });

  test("disaggregated: bytes through a data server's port and a metadata server's alike", async () => {
    const cluster = new Cluster({
      size: 4,
      metadataServers: 1,
      http: true,
      nodeArgs: ["--chunk-size", String(MiB), "--replication", "2"],
    });
    await cluster.start();
    try {
      await cluster.leader();
      const [metadata, data] = [
        `http://${cluster.httpAddresses[0]}`,
        `http://${cluster.httpAddresses[1]}`,
      ];
      for (const url of [metadata, data])
        await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, `${url} ready`);
      const bytes = randomBytes(MiB + 3);
      const put = await caller(data)("/api/v1/files/d.bin", { method: "PUT", body: bytes });
      assert.equal(put.status, 201);
      const back = await caller(metadata)("/api/v1/files/d.bin");
      assert.ok(Buffer.from(await back.arrayBuffer()).equals(bytes));
      const placement = (await (await caller(data)("/api/v1/placement/d.bin")).json()) as {
        slots: { copies: { nodeId: string }[] }[];
      };
      assert.equal(placement.slots.length, 2);
      for (const slot of placement.slots) {
        assert.equal(slot.copies.length, 2);
        for (const copy of slot.copies) assert.notEqual(copy.nodeId, "n1", "no bytes on m");
      }
      const dataMetrics = await (await fetch(`${data}/metrics`)).text();
      assert.match(
        dataMetrics,
        /^sandstore_node_info\{node="n2",topology="disaggregated",roles="data"\} 1$/m,
      );
      assert.doesNotMatch(dataMetrics, /^sandstore_raft_term /m, "a data server is no Raft member");
    } finally {
      await cluster.close();
    }
  });

  test("with --tls-dir the port speaks HTTPS with the node's certificate, and moves files", async () => {
    const cluster = new Cluster({ http: true, tls: true });
    await cluster.start();
    try {
      await cluster.leader();
      const ca = await readFile(cluster.tlsCa ?? "");
      const address = cluster.httpAddresses[0] ?? "";
      const [host = "", port = ""] = address.split(":");
      // One HTTPS request against the cluster's CA; the node's certificate names its id.
      const call = (method: string, path: string, body?: Buffer) =>
        new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
          const request = httpsRequest(
            { host, port: Number(port), method, path, ca, servername: "n1" },
            (response) => {
              const pieces: Buffer[] = [];
              response.on("data", (piece: Buffer) => pieces.push(piece));
              response.on("end", () =>
                resolve({ status: response.statusCode ?? 0, body: Buffer.concat(pieces) }),
              );
              response.on("error", reject);
            },
          );
          request.on("error", reject);
          request.end(body);
        });
      await waitFor(async () => (await call("GET", "/readyz")).status === 200, "n1 ready");
      const bytes = randomBytes(100 * KiB);
      assert.equal((await call("PUT", "/api/v1/files/tls.bin", bytes)).status, 201);
      const back = await call("GET", "/api/v1/files/tls.bin");
      assert.equal(back.status, 200);
      assert.ok(back.body.equals(bytes));
      // Plain HTTP to the HTTPS port gets nothing served.
      await assert.rejects(async () => {
        const response = await fetch(`http://${address}/healthz`);
        await response.arrayBuffer();
      });
    } finally {
      await cluster.close();
    }
  });

  test("kv: metrics and readiness; the file routes answer 501 ENOTSUP", async () => {
    const [raft, client, http] = await freePorts(3);
    const node = await startNode({
      port: raft,
      args: [
        ...["--topology", "kv", "--client-listen", `127.0.0.1:${client}`],
        ...["--peers", `n1=127.0.0.1:${raft}/127.0.0.1:${client}`],
        ...["--cluster-token", randomBytes(16).toString("hex"), "--http", `127.0.0.1:${http}`],
      ],
    });
    try {
      const url = `http://127.0.0.1:${http}`;
      await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, "kv ready");
      const text = await (await fetch(`${url}/metrics`)).text();
      assert.match(text, /^sandstore_raft_is_leader 1$/m);
      const files = await fetch(`${url}/api/v1/files/x`);
      assert.equal(files.status, 501);
      assert.equal(await errorCode(files), "ENOTSUP");
      const status = (await (await fetch(`${url}/api/v1/cluster/status`)).json()) as {
        topology: string;
        leaderId: string;
      };
      assert.deepEqual([status.topology, status.leaderId], ["kv", "n1"]);
    } finally {
      await node.stop();
      await rm(node.dataDir, { recursive: true, force: true });
    }
  });
});
