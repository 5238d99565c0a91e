/**
 * The scrub: finds copies that rot where they lie, before a read meets them. Runs on the
 * leader only. A pass walks every chunk slot of the namespace a page at a time and has each
 * live node that holds a copy read it whole and check it against the checksum the slot
 * records (`ReplicaAccess.verifyChunk`: the bytes never cross the network). A slot with a
 * damaged or missing copy goes to repair, which replaces that copy from a good one.
 *
 * Bounded: verification is paced to `bytesPerSecond` of copies read, across the cluster, so a
 * scrub never competes with clients for the disks more than that; a pass starts `intervalMs`
 * after this node's previous one ended, or at once on a node that has just become leader and
 * has not scrubbed within the interval.
 */
import { PeriodicTask } from "../common/periodic-task.ts";
import { RateLimiter } from "../common/rate-limiter.ts";
import type { ControlPlane } from "../control/control-plane.ts";
import type { Membership } from "../membership/membership.ts";
import type { ChunkSlot } from "../metadata/metadata-store.ts";
import { type CopyState, copyStateOf } from "./chunk-repairer.ts";
import { forEachChunkSlot } from "./chunk-slot-walk.ts";
import type { ReplicaAccess } from "./replica-access.ts";

export interface ChunkScrubberOptions {
  readonly control: ControlPlane;
  readonly membership: Membership;
  readonly replicas: ReplicaAccess;
  /**
   * Repairs a slot given the state of each copy; resolves false when it could not (no good
   * copy to copy from, or a step failed). `ChunkRepairer.repairCopies`.
   */
  readonly repair: (
    inodeId: number,
    slot: ChunkSlot,
    states: ReadonlyMap<string, CopyState>,
  ) => Promise<boolean>;
  /** Time from the end of one pass to the start of the next, ms. */
  readonly intervalMs: number;
  /** Verification rate limit, bytes of copies read per second across the cluster. */
  readonly bytesPerSecond: number;
  readonly onError?: (error: unknown) => void;
  /** A pass found the copies of `chunkId` on `nodeIds` damaged or missing (before repair). */
  readonly onDamaged?: (chunkId: string, nodeIds: readonly string[]) => void;
}

/** Progress for `sandstore status`. */
export interface ScrubProgress {
  readonly passes: number;
  readonly copiesTotal: number;
  readonly bytesTotal: number;
  /** Copies found damaged or missing since this node started. */
  readonly damagedTotal: number;
  /** Slots the last complete pass found with no good copy (nothing to repair from). */
  readonly unrecoverable: number;
  readonly lastPassMs: number;
}

export class ChunkScrubber {
  private readonly task: PeriodicTask;
  private passes = 0;
  private copiesTotal = 0;
  private bytesTotal = 0;
  private damagedTotal = 0;
  private unrecoverable = 0;
  private lastPassMs = 0;
  /** Paces verification to `bytesPerSecond`. */
  private readonly verifyRate: RateLimiter;

  constructor(private readonly o: ChunkScrubberOptions) {
    this.verifyRate = new RateLimiter(o.bytesPerSecond);
    // Checked every second at most, so a node that becomes leader scrubs at once unless it
    // finished a pass within the interval (the schedule is not replicated).
    this.task = new PeriodicTask(
      async () => {
        if (Date.now() - this.lastPassMs >= this.o.intervalMs && (await this.o.control.isLeader()))
          await this.scrubPass();
      },
      Math.min(o.intervalMs, 1000),
      o.onError,
    );
  }

  /** Starts passes on whichever node leads at the time. */
  start(): void {
    this.task.start();
  }

  progress(): ScrubProgress {
    return {
      passes: this.passes,
      copiesTotal: this.copiesTotal,
      bytesTotal: this.bytesTotal,
      damagedTotal: this.damagedTotal,
      unrecoverable: this.unrecoverable,
      lastPassMs: this.lastPassMs,
    };
  }

  /**
   * One pass over every slot; resolves to the copies it found damaged or missing. Ends early,
   * uncounted, when this node stops leading or the scrubber stops.
   */
  async scrubPass(): Promise<number> {
    let damaged = 0;
    let unrecoverable = 0;
    const complete = await forEachChunkSlot(
      this.o.control,
      async () => !this.task.isStopped && (await this.o.control.isLeader()),
      async (inodeId, slot) => {
        const states = await this.verifySlot(slot);
        const lost = [...states].filter(([, state]) => state === "lost").map(([id]) => id);
        const bad = lost.length;
        if (bad === 0) return;
        this.o.onDamaged?.(slot.chunkId, lost);
        damaged += bad;
        this.damagedTotal += bad;
        if (!(await this.o.repair(inodeId, slot, states))) unrecoverable++;
      },
    );
    if (!complete) return damaged;
    this.passes++;
    this.unrecoverable = unrecoverable;
    this.lastPassMs = Date.now();
    return damaged;
  }

  /** Verifies every copy of `slot` on a live node; a copy on a node not live is `unknown`. */
  private async verifySlot(slot: ChunkSlot): Promise<Map<string, CopyState>> {
    const live = new Set(this.o.membership.liveMembers("data").map((node) => node.id));
    const states = new Map<string, CopyState>();
    for (const nodeId of slot.replicas) {
      if (!live.has(nodeId)) {
        states.set(nodeId, "unknown");
        continue;
      }
      // A copy is charged after it is read, when its size is known (a failed read at its
      // slot's length); the next verification waits out the debt.
      let bytes = slot.length;
      try {
        bytes = await this.o.replicas.verifyChunk(nodeId, slot.chunkId, slot.checksum);
        this.bytesTotal += bytes;
        this.copiesTotal++;
        states.set(nodeId, "good");
      } catch (error) {
        const state = copyStateOf(error);
        if (state === "unknown") this.o.onError?.(error);
        states.set(nodeId, state);
      }
      await this.verifyRate.take(bytes);
    }
    return states;
  }

  stop(): Promise<void> {
    this.verifyRate.release();
    return this.task.stop();
  }
}
