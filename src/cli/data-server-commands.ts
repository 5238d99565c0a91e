/**
 * `sandstore drain` and `sandstore rebalance`: moving chunk copies between data servers, as
 * an operator does before taking a server away (HDFS's decommission) and after adding some
 * (HDFS's balancer). Both ask the metadata leader's AdminService with the operator's
 * credentials; both report progress as they go, and both may be run again after an
 * interruption: the drain mark lives in the metadata log, and a rebalance plans every step
 * from the chunk map as it is.
 */
import type { Command } from "commander";
import { UnavailableError } from "../common/errors.ts";
import type { AdminDrainStatusResponse } from "../transport/grpc-admin-service.ts";
import {
  nonNegativeInteger,
  type OperatorClusterFlags,
  onLeader,
  positiveInteger,
  UsageError,
  withOperatorCluster,
} from "./cli-support.ts";

interface DrainFlags extends OperatorClusterFlags {
  cancel?: boolean;
  wait: boolean;
  timeout: number;
}

interface RebalanceFlags extends OperatorClusterFlags {
  rateMib: number;
  stepMib: number;
  tolerance: number;
}

/** Time between looks at a drain's progress. */
const DRAIN_POLL_MS = 1000;
/**
 * Steps in a row that move nothing, yet leave the servers uneven (or lose their leader),
 * before rebalance gives up.
 */
const MAX_FRUITLESS_STEPS = 3;
const MiB = 1024 * 1024;

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

export function registerDataServerCommands(program: Command): void {
  withOperatorCluster(program.command("drain"))
    .argument("<id>", "the data server to drain")
    .description(
      "move a data server's chunk copies to the others, then let it leave: no new chunk goes to it meanwhile",
    )
    .option("--cancel", "stop draining it: it takes new chunks again")
    .option("--no-wait", "mark it draining and return, without waiting for its copies to move")
    .option(
      "--timeout <seconds>",
      "give up waiting after this long (0: wait as long as it takes)",
      nonNegativeInteger,
      0,
    )
    .action(async (id: string, flags: DrainFlags) => {
      if (flags.cancel) {
        await onLeader(flags, (leader) => leader.drain(id, false));
        console.log(`${id} is no longer draining: it takes new chunks again`);
        return;
      }
      await onLeader(flags, (leader) => leader.drain(id, true));
      console.log(`${id} is draining: no new chunk goes to it, and repair copies its chunks away`);
      if (!flags.wait) return;
      await waitForDrain(id, flags);
    });

  withOperatorCluster(program.command("rebalance"))
    .description("move chunk copies so that every data server holds about as many bytes")
    .option("--rate-mib <n>", "copy at most this many MiB per second", positiveInteger, 32)
    .option("--step-mib <n>", "MiB moved per step, between progress reports", positiveInteger, 256)
    .option(
      "--tolerance <percent>",
      "even when the fullest and emptiest differ by at most this much of the mean",
      positiveInteger,
      10,
    )
    .action(async (flags: RebalanceFlags) => {
      if (flags.tolerance > 100) throw new UsageError("--tolerance is a percentage, 1 to 100");
      let fruitless = 0;
      let movedTotal = 0;
      for (;;) {
        const step = await onLeader(flags, (leader) =>
          leader.rebalanceStep({
            maxBytes: flags.stepMib * MiB,
            bytesPerSecond: flags.rateMib * MiB,
            tolerancePercent: flags.tolerance,
          }),
        ).catch((error: unknown) => {
          // Leadership moved during the step: the next step asks the new leader.
          if (error instanceof UnavailableError) return undefined;
          throw error;
        });
        if (!step) {
          // Leadership moved during the step: counted, so a group that cannot keep a leader
          // ends the command rather than spin.
          if (++fruitless >= MAX_FRUITLESS_STEPS)
            throw new Error(`${MAX_FRUITLESS_STEPS} steps in a row lost their leader`);
          continue;
        }
        movedTotal += step.moved;
        const spread = step.servers.map((s) => `${s.nodeId} ${mib(s.bytes)}`).join(", ");
        if (step.balanced) {
          console.log(`balanced after moving ${movedTotal} copies: ${spread || "no data server"}`);
          return;
        }
        console.log(`moved ${step.moved} copies (${mib(step.movedBytes)}): ${spread}`);
        fruitless = step.moved === 0 ? fruitless + 1 : 0;
        if (fruitless >= MAX_FRUITLESS_STEPS)
          throw new Error(
            `${MAX_FRUITLESS_STEPS} steps in a row moved nothing: the leader's log says why (copies failed, or slots changed under it)`,
          );
      }
    });
}

/**
 * Waits until a repair pass that began after `id` was marked finds no slot listing it, and
 * reports the copies left as they fall. A pass under way when the mark was committed may
 * have started without it, so on the leader that was asked, the second pass after is the
 * first that counts; on a new leader, any pass does.
 */
async function waitForDrain(id: string, flags: DrainFlags): Promise<void> {
  const deadline = flags.timeout > 0 ? Date.now() + flags.timeout * 1000 : Infinity;
  const first = await onLeader(flags, async (leader) => ({
    address: leader.address,
    status: await leader.drainStatus(),
  }));
  let reported: number | undefined;
  for (;;) {
    const { address, status } = await onLeader(flags, async (leader) => ({
      address: leader.address,
      status: await leader.drainStatus(),
    }));
    const passesNeeded = address === first.address ? first.status.repairPasses + 2 : 1;
    const left = copiesLeft(status, id);
    if (left === undefined)
      throw new Error(`${id} is not marked draining any more (sandstore drain --cancel?)`);
    if (status.repairPasses >= passesNeeded) {
      if (left === 0) {
        console.log(
          `${id} is drained: no chunk lists a copy on it. Stop it now; while it runs, garbage collection deletes the copies it still has`,
        );
        return;
      }
      if (left !== reported) console.log(`${id}: ${left} chunk copies left to move`);
      reported = left;
    }
    if (Date.now() > deadline)
      throw new Error(
        `${id} is still draining after ${flags.timeout} s (${reported ?? "unknown"} copies left); run sandstore drain ${id} again to go on waiting`,
      );
    await new Promise((done) => setTimeout(done, DRAIN_POLL_MS));
  }
}

/** The copies left on `id` by `status`, or undefined when it is not marked draining. */
function copiesLeft(status: AdminDrainStatusResponse, id: string): number | undefined {
  return status.draining.find((server) => server.nodeId === id)?.copiesLeft;
}
