/**
 * `npm run bench:costs`: what one file write costs in each file topology, measured rather
 * than counted from the code. Every node process is traced with strace while the SDK writes
 * files: the fsyncs each node made, and the bytes each node sent on TCP sockets, per file.
 * strace slows the nodes down, so this measures counts, never speed.
 *
 *   npm run bench:costs -- [--files 20] [--size-kib 1024]
 *
 * Needs root (or ptrace rights over the node processes) and Debian's strace.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { commandInstalled } from "../src/common/command-installed.ts";
import { waitFor } from "../src/common/wait-for.ts";
import { connect, type SandstoreClient } from "../src/index.ts";
import { Cluster, writeFile } from "../test/helpers/hyperconverged-cluster.ts";
import { removeDataDir, startNode } from "../test/helpers/node-process.ts";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "20" },
    "size-kib": { type: "string", default: "1024" },
  },
});
const files = Number(values.files);
const sizeBytes = Number(values["size-kib"]) * 1024;
if (!Number.isInteger(files) || files < 1 || files > 1000)
  throw new RangeError(`--files must be 1 to 1000, got ${values.files}`);
if (!Number.isInteger(sizeBytes) || sizeBytes < 1 || sizeBytes > 64 * 1024 * 1024)
  throw new RangeError(`--size-kib must be 1 to 65536, got ${values["size-kib"]}`);

/** One traced node: its id, its roles, and what its trace counted. */
interface NodeCost {
  readonly id: string;
  readonly roles: string;
  fsyncs: number;
  tcpBytesSent: number;
  tcpBytesReceived: number;
}

/** Every thread's syscalls of the traced processes: fsyncs, and socket writes and reads. */
const TRACED = "fsync,fdatasync,write,writev,sendmsg,sendto,read,readv,recvmsg,recvfrom";
const SENDS = new Set(["write", "writev", "sendmsg", "sendto"]);
const RECEIVES = new Set(["read", "readv", "recvmsg", "recvfrom"]);
/**
 * A line of `strace -f -yy`: `PID name(FD<TCP:[...]>, ...) = N`, or the first half of one
 * another thread interrupted (`... <unfinished ...>`), or its second half
 * (`PID <... name resumed>...) = N`).
 */
const WHOLE = /^(\d+)\s+(\w+)\(\d+(<\w*)?.*\)\s+=\s+(-?\d+)/;
const UNFINISHED = /^(\d+)\s+(\w+)\(\d+(<\w*)?.*<unfinished \.\.\.>$/;
const RESUMED = /^(\d+)\s+<\.\.\. (\w+) resumed>.*\)\s+=\s+(-?\d+)/;

/** Starts strace on `pid` (every thread) into `file`; resolves once every thread is traced. */
async function trace(pid: number, file: string): Promise<ChildProcess> {
  const child = spawn(
    "strace",
    ["-f", "-qq", "-yy", "-s", "0", "-e", `trace=${TRACED}`, "-o", file, "-p", String(pid)],
    {
      stdio: "ignore",
    },
  );
  const traced = async () => {
    for (const task of await readdir(`/proc/${pid}/task`)) {
      const status = await readFile(`/proc/${pid}/task/${task}/status`, "utf8");
      if (/^TracerPid:\s+0$/m.test(status)) return false;
    }
    return true;
  };
  await waitFor(traced, `strace to attach to ${pid}`, 30_000);
  return child;
}

/** Stops a trace and waits for it to write the rest of its file. */
async function untrace(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGINT");
  await exited;
}

/** Adds up one node's trace. */
async function count(file: string, node: NodeCost): Promise<void> {
  // What each thread's interrupted call was on: its name, and whether its fd was TCP.
  const pending = new Map<string, { call: string; tcp: boolean }>();
  const add = (call: string, tcp: boolean, result: number) => {
    if (call === "fsync" || call === "fdatasync") node.fsyncs++;
    else if (tcp && result > 0 && SENDS.has(call)) node.tcpBytesSent += result;
    else if (tcp && result > 0 && RECEIVES.has(call)) node.tcpBytesReceived += result;
  };
  for (const line of (await readFile(file, "utf8")).split("\n")) {
    const whole = WHOLE.exec(line);
    if (whole?.[2] && !line.includes("<unfinished")) {
      add(whole[2], whole[3]?.startsWith("<TCP") ?? false, Number(whole[4]));
      continue;
    }
    const unfinished = UNFINISHED.exec(line);
    if (unfinished?.[1] && unfinished[2]) {
      pending.set(unfinished[1], {
        call: unfinished[2],
        tcp: unfinished[3]?.startsWith("<TCP") ?? false,
      });
      continue;
    }
    const resumed = RESUMED.exec(line);
    const started = resumed?.[1] === undefined ? undefined : pending.get(resumed[1]);
    if (resumed?.[1] && started) {
      pending.delete(resumed[1]);
      add(started.call, started.tcp, Number(resumed[3]));
    }
  }
}

/** Writes `files` files through `client` while every node in `pids` is traced. */
async function measure(
  client: SandstoreClient,
  nodes: ReadonlyArray<{ id: string; roles: string; pid: number }>,
  dir: string,
): Promise<NodeCost[]> {
  // Warm up: connections open, the client has learned the topology, the settings are known.
  await writeFile(client, "/warm-up", randomBytes(sizeBytes));
  const tracers = await Promise.all(
    nodes.map((node) => trace(node.pid, join(dir, `${node.id}.trace`))),
  );
  for (let i = 0; i < files; i++) await writeFile(client, `/cost-${i}`, randomBytes(sizeBytes));
  await Promise.all(tracers.map(untrace));
  const costs = nodes.map((node) => ({
    id: node.id,
    roles: node.roles,
    fsyncs: 0,
    tcpBytesSent: 0,
    tcpBytesReceived: 0,
  }));
  for (const cost of costs) await count(join(dir, `${cost.id}.trace`), cost);
  return costs;
}

function report(name: string, costs: readonly NodeCost[]): void {
  const per = (bytes: number) => (bytes / files / sizeBytes).toFixed(2).padStart(5);
  const total = (key: "fsyncs" | "tcpBytesSent" | "tcpBytesReceived") =>
    costs.reduce((sum, c) => sum + c[key], 0);
  console.log(`\n${name}: per file of ${sizeBytes} B, ${files} files`);
  console.log("  node roles          fsyncs   TCP in   TCP out (x the file's bytes)");
  for (const c of costs)
    console.log(
      `  ${c.id.padEnd(4)} ${c.roles.padEnd(14)} ${(c.fsyncs / files).toFixed(1).padStart(6)}   ${per(c.tcpBytesReceived)}    ${per(c.tcpBytesSent)}`,
    );
  console.log(
    `  all nodes           ${(total("fsyncs") / files).toFixed(1).padStart(6)}   ${per(total("tcpBytesReceived"))}    ${per(total("tcpBytesSent"))}`,
  );
}

if (!(await commandInstalled("strace"))) {
  console.error("bench:costs needs strace: apt-get install -y strace");
  process.exit(2);
}

const base = await mkdtemp(join(tmpdir(), "sandstore-costs-"));
try {
  const single = await startNode({ dataDir: join(base, "single") });
  try {
    const client = connect(single.address);
    const dir = await mkdtemp(join(base, "trace-"));
    report(
      "single",
      await measure(client, [{ id: "n1", roles: "metadata,data", pid: single.pid }], dir),
    );
    await client.closeClient();
  } finally {
    await single.stop();
    await removeDataDir(single);
  }
  for (const [name, options, roles] of [
    ["hyperconverged, 3 nodes, R=3", { size: 3 }, () => "metadata,data"],
    [
      "disaggregated, 1 metadata server and 3 data servers, R=3",
      { size: 4, metadataServers: 1 },
      (i: number) => (i < 1 ? "metadata" : "data"),
    ],
    [
      "disaggregated, 3 metadata servers and 3 data servers, R=3",
      { size: 6, metadataServers: 3 },
      (i: number) => (i < 3 ? "metadata" : "data"),
    ],
  ] as const) {
    const cluster = new Cluster(options);
    await cluster.start();
    try {
      await cluster.leader();
      const client = connect(cluster.addresses);
      const nodes = cluster.indexes.map((i) => {
        const pid = cluster.pid(i);
        if (pid === undefined) throw new Error(`node n${i + 1} is not running`);
        return { id: `n${i + 1}`, roles: roles(i), pid };
      });
      report(name, await measure(client, nodes, await mkdtemp(join(base, "trace-"))));
      await client.closeClient();
    } finally {
      await cluster.close();
    }
  }
} finally {
  await rm(base, { recursive: true, force: true });
}
