/**
 * `sandstore demo election|failover|partition|repair`: a narrated scenario against a local
 * cluster the command starts (and stops), or against a running one (`--cluster`). Exits 0
 * when every acknowledged write was read back intact, 1 when one was lost or the demo failed.
 */
import { createInterface } from "node:readline";
import { type Command, Option } from "commander";
import { connect } from "../client/connect.ts";
import type { DemoCluster } from "../demo/demo-cluster.ts";
import { DEMOS, runDemo } from "../demo/demos.ts";
import { LocalDemoCluster } from "../demo/local-demo-cluster.ts";
import { OPERATOR_TIMEOUT_MS, RemoteDemoCluster } from "../demo/remote-demo-cluster.ts";
import {
  type CredentialFlags,
  clientCredentials,
  nonNegativeInteger,
  operatorClients,
  UsageError,
  withCredentials,
} from "./cli-support.ts";

interface DemoFlags extends CredentialFlags {
  topology: "hyperconverged" | "disaggregated";
  nodes: string;
  httpBasePort: number;
  step?: boolean;
  cluster?: string;
  tlsCa?: string;
  user?: string;
  credentialsFile?: string;
}

/** How long a fault on the demo's own cluster may take to show its effect. */
const LOCAL_PATIENCE_MS = 60_000;
/**
 * Chunk size of the demo's own cluster: small, so a few files make many chunks, and above the
 * 16 KiB a slot may hold inline in the metadata, so the demos' files are real chunks.
 */
const LOCAL_CHUNK_SIZE = 64 * 1024;
/**
 * How long a server of the demo's own cluster may be down before repair replaces its copies:
 * seconds, where a real cluster waits minutes for a restart that would make copying moot.
 */
const LOCAL_REPAIR_LOST_AFTER_MS = 3000;

/** Waits for Enter on stdin; once stdin ends, never waits again. */
function enterKey(): { pause: () => Promise<void>; close: () => void } {
  const lines = createInterface({ input: process.stdin });
  let ended = false;
  lines.once("close", () => {
    ended = true;
  });
  return {
    pause: () =>
      ended
        ? Promise.resolve()
        : new Promise<void>((done) => {
            const go = () => {
              lines.off("line", go);
              lines.off("close", go);
              done();
            };
            lines.once("line", go);
            lines.once("close", go);
          }),
    close: () => lines.close(),
  };
}

export function registerDemoCommands(program: Command): void {
  const command = program
    .command("demo")
    .argument("<name>", DEMOS.map((demo) => `${demo.name}: ${demo.summary}`).join("; "))
    .description(
      "a guided, narrated scenario on a cluster, ending with a check that no acknowledged write was lost",
    )
    .addOption(
      new Option("--topology <name>", "the local cluster's topology")
        .choices(["hyperconverged", "disaggregated"])
        .default("hyperconverged"),
    )
    .addOption(
      new Option("--nodes <n>", "members of the local cluster's group")
        .choices(["3", "5"])
        .default("3"),
    )
    .option(
      "--http-base-port <port>",
      "the local cluster's node i serves HTTP and the dashboard on 127.0.0.1:(P+i-1); 0 picks free ports",
      nonNegativeInteger,
      8001,
    )
    .option("--step", "wait for Enter before each step")
    .option(
      "--cluster <addresses>",
      "run against this running cluster's members, host:port,... (the demo asks you for the faults it cannot cause)",
    )
    .option("--tls-ca <file>", "the cluster's CA certificate, when it speaks TLS")
    .option("--user <profile>", "write files as this user: a profile of the credentials file")
    .option(
      "--credentials-file <file>",
      "where --user's profile is (default ~/.sandstore/credentials)",
    );
  withCredentials(command, "an operator's, with --cluster: the token, or a TLS directory").action(
    async (name: string, flags: DemoFlags) => {
      const demo = DEMOS.find((d) => d.name === name);
      if (!demo)
        throw new UsageError(
          `no demo "${name}": choose from ${DEMOS.map((d) => d.name).join(", ")}`,
        );
      const say = (line: string) => console.log(line);
      const credentials = clientCredentials({
        cluster: flags.cluster ?? "",
        user: flags.user,
        credentialsFile: flags.credentialsFile,
      });
      const keys = flags.step ? enterKey() : undefined;
      let cluster: DemoCluster;
      if (flags.cluster !== undefined) {
        // Checked first: a usage error for missing or malformed credentials, before any call.
        const admins = operatorClients(flags.cluster, "--cluster", flags);
        const client = connect(flags.cluster, {
          retryForMs: 5000,
          tlsCa: flags.tlsCa,
          credentials,
        });
        const http = await client
          .status()
          .then((status) => status.nodes.find((node) => node.httpAddress)?.httpAddress)
          .catch((error: unknown) => {
            for (const admin of admins) admin.close();
            throw error;
          })
          .finally(() => client.closeClient());
        try {
          cluster = await RemoteDemoCluster.open(
            admins,
            http ? `http://${http}/` : undefined,
            (instruction) =>
              say(`  >> Now you: ${instruction} The demo goes on when it sees it done.`),
          );
        } catch (error) {
          for (const admin of admins) admin.close();
          throw error;
        }
      } else {
        const nodes = Number(flags.nodes);
        say(`Starting a ${nodes}-member ${flags.topology} cluster for the ${demo.name} demo...`);
        const local = await LocalDemoCluster.start({
          topology: flags.topology,
          nodes,
          // Hyperconverged: R = 2 of 3, so a dead node's copies have somewhere to go.
          replication: flags.topology === "hyperconverged" ? Math.min(2, nodes) : undefined,
          http: flags.httpBasePort === 0 ? "ephemeral" : flags.httpBasePort,
          chunkSize: LOCAL_CHUNK_SIZE,
          repairLostAfterMs: LOCAL_REPAIR_LOST_AFTER_MS,
        });
        for (const line of local.describe()) say(`  ${line}`);
        cluster = local;
      }
      say(
        cluster.dashboard
          ? `Dashboard: ${cluster.dashboard} (open it to watch the demo live)`
          : "No member serves HTTP, so there is no dashboard to watch.",
      );
      try {
        const result = await runDemo(demo, {
          cluster,
          client: (addresses, retryForMs) =>
            connect([...addresses], {
              retryForMs,
              tlsCa: flags.tlsCa,
              credentials,
            }),
          write: say,
          pause: keys?.pause,
          directory: `/demo/${demo.name}-${new Date().toISOString().replace(/[:.]/g, "-")}`,
          patienceMs: cluster.faultsBy === "operator" ? OPERATOR_TIMEOUT_MS : LOCAL_PATIENCE_MS,
        });
        say("");
        if (result.lost.length > 0) {
          say(`FAILED: ${result.lost.length} acknowledged writes lost.`);
          process.exitCode = 1;
        } else say(`Done: ${result.checked} acknowledged writes, none lost.`);
      } finally {
        keys?.close();
        if (cluster.faultsBy === "demo") say("Stopping the demo's cluster.");
        await cluster.close();
      }
    },
  );
}
