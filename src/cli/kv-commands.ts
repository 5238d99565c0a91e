/**
 * `sandstore kv`: the key-value topology (SPEC §5). `kv node` takes TitanStore's flags,
 * `kv up` runs three nodes in the foreground, `kv get|set|del` talk to a cluster.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { type Command, Option } from "commander";
import { NODE_RUNTIME_FLAGS } from "../common/runtime-flags.ts";
import { kvRequest } from "../kv/kv-client.ts";
import { parsePeers } from "../kv/kv-peers.ts";
import { createLogger } from "../observability/logger.ts";
import { localClusterToken, positiveInteger, UsageError, withCredentials } from "./cli-support.ts";

/** TitanStore spelled its flags with one dash (`-id=n1`); these are rewritten to two. */
export const TITANSTORE_FLAGS = [
  "id",
  "port",
  "client-port",
  "advertise-client-addr",
  "peers",
  "data-dir",
];

/** Rewrites `-flag` and `-flag=value` to `--flag...` for TitanStore's flag names. */
export function normalizeTitanStoreFlags(args: readonly string[]): string[] {
  return args.map((arg) => {
    const match = /^-([a-z-]+)(=.*)?$/.exec(arg);
    return match && TITANSTORE_FLAGS.includes(match[1]!) ? `-${arg}` : arg;
  });
}

/** `host:port`, with an IPv6 host in brackets. */
function joinHostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`"${value}" is not a port (0-65535)`);
  return n;
}

const clusterOption = () =>
  new Option("--cluster <addresses>", "client addresses, host:port[,host:port...]")
    .env("SANDSTORE_KV_CLUSTER")
    .default("127.0.0.1:6001");

async function runRequest(cluster: string, line: string): Promise<void> {
  const reply = await kvRequest(
    cluster.split(",").map((s) => s.trim()),
    line,
  );
  if (reply.startsWith("ERR")) throw new Error(reply);
  if (reply.startsWith("VALUE ")) process.stdout.write(`${reply.slice(6)}\n`);
  else if (reply === "NOT_FOUND") throw new Error("not found");
}

export function registerKvCommands(program: Command): void {
  const kv = program
    .command("kv")
    .description("the key-value topology, compatible with TitanStore");

  const node = kv
    .command("node")
    .description("run one key-value node (flags as TitanStore spells them; one dash works too)")
    .requiredOption("--id <id>", "this node's id")
    .requiredOption("--port <port>", "Raft port")
    .requiredOption("--client-port <port>", "client (plaintext protocol) port")
    .option("--advertise-client-addr <host:port>", "client address given out in NOT_LEADER replies")
    .option("--peers <list>", "the other nodes, id:host:raftPort:clientPort,...", "")
    .option("--data-dir <dir>", "where the node keeps everything (default ./data/<id>)")
    .option("--bind <host>", "interface to listen on", "0.0.0.0")
    .option("--fault-file <path>", "JSON file naming peers to cut off (testing)")
    .option("--snapshot-entries <n>", "snapshot after this many entries", positiveInteger)
    .option("--tick-ms <ms>", "milliseconds per Raft tick", positiveInteger)
    .option("--quiet", "log only to the data directory");
  withCredentials(node, "the nodes' Raft ports").action(
    async (flags: Record<string, string | number | boolean | undefined>) => {
      const id = String(flags.id);
      if (!/^[A-Za-z0-9_.-]+$/.test(id))
        throw new UsageError(`node id "${id}" may hold only letters, digits, _ . -`);
      let peers: ReturnType<typeof parsePeers>;
      try {
        peers = parsePeers(String(flags.peers ?? ""), id);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      const raftPort = parsePort(String(flags.port));
      const clientPort = parsePort(String(flags.clientPort));
      const bind = String(flags.bind);
      const dataDir = resolve(String(flags.dataDir ?? join("data", id)));
      await mkdir(dataDir, { recursive: true });
      const logger = createLogger({
        file: join(dataDir, "node.log"),
        pretty: !flags.quiet,
        nodeId: id,
      });
      // Loaded here, not at the top: the other kv commands are clients and need no server.
      const { startKvNode } = await import("../topologies/kv.ts");
      const node = await startKvNode({
        id,
        raftListen: joinHostPort(bind, raftPort),
        clientListen: joinHostPort(bind, clientPort),
        advertiseClientAddr: String(
          flags.advertiseClientAddr ??
            joinHostPort(bind === "0.0.0.0" ? "127.0.0.1" : bind, clientPort),
        ),
        peers: peers.map((peer) => ({
          id: peer.id,
          raftAddress: `${peer.host}:${peer.raftPort}`,
          clientAddress: `${peer.host}:${peer.clientPort}`,
        })),
        dataDir,
        logger,
        faultFile: flags.faultFile === undefined ? undefined : String(flags.faultFile),
        snapshotEntries: flags.snapshotEntries as number | undefined,
        tickMs: flags.tickMs as number | undefined,
        clusterToken: flags.clusterToken === undefined ? undefined : String(flags.clusterToken),
        tlsDir: flags.tlsDir === undefined ? undefined : resolve(String(flags.tlsDir)),
      });
      console.log(`sandstore kv node ${id} raft ${node.raftAddress} client ${node.clientAddress}`);
      await new Promise<void>((done) => {
        const stop = () => node.stop().then(done, done);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    },
  );

  kv.command("up")
    .description("run a local key-value cluster in the foreground (raft 5001.., clients 6001..)")
    .option("--nodes <n>", "how many nodes", positiveInteger, 3)
    .option("--data-dir <dir>", "node i keeps its data in DIR/nI", "./data")
    .option("--raft-port <port>", "first Raft port", positiveInteger, 5001)
    .option("--client-port <port>", "first client port", positiveInteger, 6001)
    .action(
      async (flags: { nodes: number; dataDir: string; raftPort: number; clientPort: number }) => {
        const ids = Array.from({ length: flags.nodes }, (_, i) => `n${i + 1}`);
        // Kept beside the nodes' data, so a restarted cluster and `sandstore member` find it.
        const token = await localClusterToken(resolve(flags.dataDir, "token"));
        const spec = (i: number) =>
          `${ids[i]}:127.0.0.1:${flags.raftPort + i}:${flags.clientPort + i}`;
        const children: ChildProcess[] = ids.map((id, i) => {
          const child = spawn(
            process.execPath,
            [
              ...NODE_RUNTIME_FLAGS,
              process.argv[1]!,
              "kv",
              "node",
              "--id",
              id,
              "--port",
              String(flags.raftPort + i),
              "--client-port",
              String(flags.clientPort + i),
              "--advertise-client-addr",
              `127.0.0.1:${flags.clientPort + i}`,
              "--bind",
              "127.0.0.1",
              "--peers",
              ids
                .map((_, j) => j)
                .filter((j) => j !== i)
                .map(spec)
                .join(","),
              "--data-dir",
              resolve(flags.dataDir, id),
            ],
            {
              stdio: ["ignore", "pipe", "inherit"],
              env: { ...process.env, SANDSTORE_CLUSTER_TOKEN: token },
            },
          );
          createInterface({ input: child.stdout! }).on("line", (text) => console.log(text));
          return child;
        });
        console.log(`
Key-value cluster: ${flags.nodes} nodes, clients on 127.0.0.1:${flags.clientPort}-${flags.clientPort + flags.nodes - 1}
Try:  echo 'SET greeting hello world' | nc -N 127.0.0.1 ${flags.clientPort}
      echo 'GET greeting' | nc -N 127.0.0.1 ${flags.clientPort + 1}
      npx sandstore kv get greeting
Ctrl-C stops every node.
`);
        await new Promise<void>((done) => {
          let exited = 0;
          for (const child of children)
            child.once("exit", () => ++exited === children.length && done());
          const stop = () => {
            for (const child of children) child.kill("SIGTERM");
          };
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
      },
    );

  kv.command("get")
    .description("print a key's value (follows redirects)")
    .argument("<key>")
    .addOption(clusterOption())
    .action((key: string, flags: { cluster: string }) => runRequest(flags.cluster, `GET ${key}`));
  kv.command("set")
    .description("set a key (follows redirects; OK once committed)")
    .argument("<key>")
    .argument("<value...>")
    .addOption(clusterOption())
    .action((key: string, value: string[], flags: { cluster: string }) =>
      runRequest(flags.cluster, `SET ${key} ${value.join(" ")}`),
    );
  kv.command("del")
    .description("delete a key (follows redirects)")
    .argument("<key>")
    .addOption(clusterOption())
    .action((key: string, flags: { cluster: string }) =>
      runRequest(flags.cluster, `DELETE ${key}`),
    );
}
