/**
 * The maintenance wiring shared by the replicated file topologies: on the metadata leader,
 * repair to R copies (draining servers' copies moved off them), a paced scrub that hands
 * damaged copies to repair, garbage collection, and rebalancing steps when an operator asks,
 * all against the data nodes through one replica access; and their progress as status
 * reports it.
 */
import type { ControlPlane } from "../control/control-plane.ts";
import {
  ChunkRebalancer,
  type RebalanceStepRequest,
  type RebalanceStepResult,
} from "../data/chunk-rebalancer.ts";
import { ChunkRepairer } from "../data/chunk-repairer.ts";
import { ChunkScrubber } from "../data/chunk-scrubber.ts";
import { GarbageCollector } from "../data/garbage-collector.ts";
import type { ReplicaAccess } from "../data/replica-access.ts";
import type { MaintenanceStatus } from "../gen/sandstore/v1/file_service.ts";
import type { Membership } from "../membership/membership.ts";
import type { Logger } from "../observability/logger.ts";
import type { NodeEvents } from "../observability/node-events.ts";
import type { PlacementStrategy } from "../placement/placement-strategy.ts";
import type { NodeOptions } from "./topology.ts";

export interface LeaderMaintenanceOptions {
  readonly control: ControlPlane;
  readonly membership: Membership;
  readonly replicas: ReplicaAccess;
  readonly placement: PlacementStrategy;
  /** The node's flags: intervals, rates, the grace period. */
  readonly options: NodeOptions;
  readonly logger: Logger;
  /** True while a write of the chunk may still commit: garbage collection leaves it alone. */
  readonly isWriteInFlight: (chunkId: string) => boolean;
  /** Copies rewritten by reads that found them damaged, where reads run on this node. */
  readonly readRepairsTotal: () => number;
  /** The data servers the metadata marks draining. */
  readonly draining: () => readonly string[];
  /** Where repairs and scrub findings are recorded as they happen. */
  readonly events: NodeEvents;
}

/** Started maintenance: stop it, and ask its progress. */
export interface LeaderMaintenance {
  start(): void;
  stop(): Promise<void>;
  status(): Promise<MaintenanceStatus>;
  /**
   * Each draining server with the slots still listing it after the last complete repair
   * pass, and how many passes have completed.
   */
  drainStatus(): { draining: ReadonlyMap<string, number>; repairPasses: number };
  /** One rebalancing step (`ChunkRebalancer.step`). */
  rebalanceStep(request: RebalanceStepRequest): Promise<RebalanceStepResult>;
}

export function leaderMaintenance(o: LeaderMaintenanceOptions): LeaderMaintenance {
  const { control, membership, replicas, placement, options, logger } = o;
  const repairer = new ChunkRepairer({
    control,
    membership,
    replicas,
    placement,
    intervalMs: options.repairIntervalMs ?? 10_000,
    lostAfterMs: options.repairLostAfterMs ?? 300_000,
    bytesPerSecond: options.repairBytesPerSecond ?? 64 * 1024 * 1024,
    draining: o.draining,
    onError: (error) => logger.warn({ err: error }, "repair step failed"),
    onRepaired: (chunkId, added, replicas) =>
      o.events.record(
        "repair",
        added.length > 0
          ? `chunk ${chunkId}: new copies on ${added.join(", ")}; held by ${replicas.join(", ")}`
          : `chunk ${chunkId}: copies recorded as ${replicas.join(", ")}`,
        { subject: chunkId },
      ),
  });
  const rebalancer = new ChunkRebalancer({
    control,
    membership,
    draining: o.draining,
    moveCopy: (inodeId, slot, from, to) => repairer.moveCopy(inodeId, slot, from, to),
  });
  const scrubber = new ChunkScrubber({
    control,
    membership,
    replicas,
    repair: (inodeId, slot, states) => repairer.repairCopies(inodeId, slot, states),
    intervalMs: options.scrubIntervalMs ?? 86_400_000,
    bytesPerSecond: options.scrubBytesPerSecond ?? 16 * 1024 * 1024,
    onError: (error) => logger.warn({ err: error }, "scrub step failed"),
    onDamaged: (chunkId, nodeIds) =>
      o.events.record(
        "scrub",
        `chunk ${chunkId}: the copies on ${nodeIds.join(", ")} are damaged or missing`,
        { subject: chunkId },
      ),
  });
  const gc = new GarbageCollector({
    replicas,
    nodes: () => membership.liveMembers("data").map((node) => node.id),
    isWanted: async (nodeId, chunkId) =>
      (await control.chunkReplicas(chunkId))?.includes(nodeId) ?? false,
    isWriteInFlight: o.isWriteInFlight,
    // Deleting by a metadata view that lags the log could drop a copy a commit names.
    shouldRun: () => control.isCurrentLeader(),
    graceMs: options.gcGraceMs ?? 600_000,
    intervalMs: options.gcIntervalMs ?? 60_000,
    onPass: (pass) =>
      pass.deleted + pass.failed > 0 && logger.info(pass, "garbage collection pass"),
    onError: (error) => logger.warn({ err: error }, "garbage collection step failed"),
  });
  return {
    start() {
      repairer.start();
      scrubber.start();
      gc.start();
    },
    async stop() {
      await scrubber.stop();
      await repairer.stop();
      await gc.stop();
    },
    drainStatus() {
      const progress = repairer.progress();
      return { draining: progress.drainCopiesLeft, repairPasses: progress.passes };
    },
    rebalanceStep: (request) => rebalancer.step(request),
    async status() {
      const repair = repairer.progress();
      const scrub = scrubber.progress();
      return {
        active: await control.isLeader(),
        repairPasses: repair.passes,
        underReplicated: repair.underReplicated,
        repairPending: repair.pending,
        repairedTotal: repair.repairedTotal,
        repairFailuresTotal: repair.failuresTotal,
        lastRepairPassMs: repair.lastPassMs,
        gcPasses: gc.passes,
        gcDeletedTotal: gc.deletedTotal,
        lastGcPassMs: gc.lastPassMs,
        readRepairsTotal: o.readRepairsTotal(),
        scrubPasses: scrub.passes,
        scrubCopiesTotal: scrub.copiesTotal,
        scrubBytesTotal: scrub.bytesTotal,
        scrubDamagedTotal: scrub.damagedTotal,
        scrubUnrecoverable: scrub.unrecoverable,
        lastScrubPassMs: scrub.lastPassMs,
      };
    },
  };
}
