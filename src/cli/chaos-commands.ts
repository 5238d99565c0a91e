/**
 * `sandstore chaos`: one fault-testing run against real node processes (see src/chaos/).
 * Exits 0 when every check passed, 1 when one failed; the report names where it is.
 */
import { type Command, Option } from "commander";
import { CHAOS_TOPOLOGIES } from "../chaos/chaos-cluster.ts";
import { NEMESES, type NemesisKind, STATIC_NEMESES } from "../chaos/nemesis.ts";
import { kernelPartitionsAvailable } from "../chaos/network-namespaces.ts";
import { runChaos, type Workload, workloadOf } from "../chaos/run-chaos.ts";
import { positiveInteger, UsageError } from "./cli-support.ts";

interface ChaosFlags {
  topology: string;
  nodes: number;
  time: number;
  seed?: number;
  nemesis: string;
  workload?: Workload;
  clients: number;
  resultsDir: string;
  network: "loopback" | "netns";
}

function nemesisList(value: string): NemesisKind[] {
  const kinds = value.split(",").filter((kind) => kind !== "");
  for (const kind of kinds) {
    if (!(NEMESES as readonly string[]).includes(kind))
      throw new UsageError(`unknown nemesis "${kind}": choose from ${NEMESES.join(", ")}`);
  }
  if (kinds.length === 0) throw new UsageError("--nemesis names no nemesis");
  return kinds as NemesisKind[];
}

export function registerChaosCommands(program: Command): void {
  program
    .command("chaos")
    .description("run a workload against real nodes under faults and check what clients saw")
    .addOption(
      new Option("--topology <name>", "cluster to test")
        .choices([...CHAOS_TOPOLOGIES])
        .default("kv"),
    )
    .addOption(new Option("--nodes <n>", "nodes").choices(["3", "5"]).default("3"))
    .option("--time <s>", "seconds of workload under faults", positiveInteger, 30)
    .option(
      "--seed <n>",
      "seed of the fault schedule and the workload (default: random)",
      positiveInteger,
    )
    .option(
      "--nemesis <list>",
      `faults to apply, of ${NEMESES.join(",")} (etcd: the file topologies, their membership then in an etcd started for the run)`,
      STATIC_NEMESES.join(","),
    )
    .addOption(
      new Option(
        "--workload <name>",
        "register (a topology that serves keys: kv) or files (the file topologies); default fits the topology",
      ).choices(["register", "files"]),
    )
    .option("--clients <n>", "concurrent clients", positiveInteger, 5)
    .option("--results-dir <dir>", "where each run's directory is written", "results/chaos")
    .addOption(
      new Option(
        "--network <mode>",
        "partitions by fault files, or (root) by nftables with each node in a network namespace",
      )
        .choices(["loopback", "netns"])
        .default("loopback"),
    )
    .action(async (flags: ChaosFlags) => {
      const workload = flags.workload ?? workloadOf(flags.topology);
      if (workload !== workloadOf(flags.topology))
        throw new UsageError(
          `the ${workload} workload does not run on the ${flags.topology} topology`,
        );
      if (flags.network === "netns" && !(await kernelPartitionsAvailable()))
        throw new UsageError(
          "--network netns needs root, ip (iproute2) and nft (nftables): run as root with both installed",
        );
      const nemeses = nemesisList(flags.nemesis);
      if (nemeses.includes("etcd") && workloadOf(flags.topology) !== "files")
        throw new UsageError(
          `the etcd nemesis needs a file topology; ${flags.topology} has no etcd membership`,
        );
      if (nemeses.includes("etcd") && flags.network === "netns")
        throw new UsageError("the etcd nemesis runs on --network loopback");
      const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31);
      const verdict = await runChaos({
        topology: flags.topology,
        nodes: Number(flags.nodes),
        timeS: flags.time,
        seed,
        nemeses,
        workload,
        clients: flags.clients,
        resultsDir: flags.resultsDir,
        network: flags.network,
        log: (line) => console.log(line),
      });
      for (const check of verdict.checks)
        console.log(`${check.ok ? "ok    " : "FAILED"} ${check.name}: ${check.detail}`);
      console.log(
        `${verdict.ok ? "PASS" : "FAIL"} seed ${seed}: report in ${verdict.dir}/report.md`,
      );
      if (!verdict.ok) process.exitCode = 1;
    });
}
