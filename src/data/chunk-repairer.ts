/**
 * Repair: brings every chunk back to R good copies. Runs on the leader only. A pass lists the
 * chunks each live node holds, then walks every chunk slot of the namespace a page at a time;
 * a slot whose chunk has fewer good copies than it should (a node was down during the write,
 * a listed node lost its copy or has been unreachable too long) gets its chunk copied from a
 * good replica to other live nodes, and the new replica list is committed through metadata,
 * on condition that the slot still points at that chunk.
 *
 * Bounded: copies are paced to `bytesPerSecond`, and each pass reads the namespace in pages.
 */
import { SandstoreError } from "../common/errors.ts";
import { PeriodicTask } from "../common/periodic-task.ts";
import type { ControlPlane } from "../control/control-plane.ts";
import type { Membership, NodeInfo } from "../membership/membership.ts";
import type { ChunkSlot, SlotCursor } from "../metadata/metadata-store.ts";
import type { PlacementStrategy } from "../placement/placement-strategy.ts";
import { type ReplicaAccess, readVerifiedChunk, rewriteCopy } from "./replica-access.ts";

/** Slots read from the namespace per page of a pass. */
const SLOTS_PER_PAGE = 500;

export interface ChunkRepairerOptions {
  readonly control: ControlPlane;
  readonly membership: Membership;
  readonly replicas: ReplicaAccess;
  readonly placement: PlacementStrategy;
  /** Copies each chunk should have (R), or all live nodes when fewer are live. */
  readonly replicationFactor: number;
  /** Time between passes, ms. */
  readonly intervalMs: number;
  /**
   * How long a listed replica's node may be unreachable before its copy counts as lost and is
   * replaced, ms: a node that restarts is not worth copying all its chunks elsewhere.
   */
  readonly lostAfterMs: number;
  /** Copy rate limit, bytes per second. */
  readonly bytesPerSecond: number;
  readonly onError?: (error: unknown) => void;
}

/** Progress for `sandstore status`. */
export interface RepairProgress {
  readonly passes: number;
  /** Slots short of copies found by the last complete pass. */
  readonly underReplicated: number;
  /** Slots found short in the pass under way, not repaired yet. */
  readonly pending: number;
  readonly repairedTotal: number;
  readonly failuresTotal: number;
  readonly lastPassMs: number;
}

export class ChunkRepairer {
  private readonly task: PeriodicTask;
  private passes = 0;
  private underReplicated = 0;
  private pending = 0;
  private repairedTotal = 0;
  private failuresTotal = 0;
  private lastPassMs = 0;
  /** When each unreachable node was first seen unreachable, ms. */
  private readonly unreachableSince = new Map<string, number>();
  /** Pacing: when the copy budget lets the next copy start, ms. */
  private nextCopyAtMs = 0;

  constructor(private readonly o: ChunkRepairerOptions) {
    if (o.bytesPerSecond <= 0) throw new RangeError("repair bytes per second must be positive");
    this.task = new PeriodicTask(
      async () => {
        if (this.o.control.isLeader()) await this.repairPass();
      },
      o.intervalMs,
      o.onError,
    );
  }

  /** Starts passes, every `intervalMs`, on whichever node leads at the time. */
  start(): void {
    this.task.start();
  }

  progress(): RepairProgress {
    return {
      passes: this.passes,
      underReplicated: this.underReplicated,
      pending: this.pending,
      repairedTotal: this.repairedTotal,
      failuresTotal: this.failuresTotal,
      lastPassMs: this.lastPassMs,
    };
  }

  /** One pass over every chunk slot; returns how many slots it found short of copies. */
  async repairPass(): Promise<number> {
    const live = this.o.membership.liveMembers();
    this.noteReachability(live);
    const held = new Map<string, Set<string>>();
    for (const node of live) {
      try {
        held.set(node.id, new Set((await this.o.replicas.listChunks(node.id)).map((c) => c.id)));
      } catch (error) {
        this.o.onError?.(error);
      }
    }
    let found = 0;
    this.pending = 0;
    let cursor: SlotCursor | undefined;
    for (;;) {
      if (this.task.isStopped || !this.o.control.isLeader()) return found;
      const page = await this.o.control.scanChunkSlots(cursor, SLOTS_PER_PAGE);
      for (const { inodeId, slot } of page) {
        const plan = await this.plan(slot, live.length, held);
        if (!plan) continue;
        found++;
        this.pending++;
        if (await this.repairSlot(inodeId, slot, plan)) this.repairedTotal++;
        else this.failuresTotal++;
        this.pending--;
      }
      const last = page.at(-1);
      if (!last || page.length < SLOTS_PER_PAGE) break;
      cursor = { inodeId: last.inodeId, index: last.slot.index };
    }
    this.passes++;
    this.underReplicated = found;
    this.lastPassMs = Date.now();
    return found;
  }

  private noteReachability(live: readonly NodeInfo[]): void {
    const now = Date.now();
    const liveIds = new Set(live.map((node) => node.id));
    for (const node of this.o.membership.members()) {
      if (liveIds.has(node.id)) this.unreachableSince.delete(node.id);
      else if (!this.unreachableSince.has(node.id)) this.unreachableSince.set(node.id, now);
    }
  }

  /**
   * What a slot needs: the copies to keep, the good ones among them, and how many more to
   * make; undefined when it has enough. A listing is only a hint (it was taken before the
   * slot was read, so a newer chunk is absent from it): a copy it lacks is probed directly,
   * and only a copy the node says is missing (ENOENT) or damaged (EIO) is dropped. A copy on
   * a node that cannot be asked counts until the node has been unreachable `lostAfterMs`.
   */
  private async plan(
    slot: ChunkSlot,
    liveCount: number,
    held: ReadonlyMap<string, ReadonlySet<string>>,
  ): Promise<{ keep: string[]; good: string[]; missing: number } | undefined> {
    const now = Date.now();
    const good: string[] = [];
    const keep: string[] = [];
    for (const nodeId of slot.replicas) {
      const state = held.get(nodeId)?.has(slot.chunkId)
        ? "good"
        : await this.probe(nodeId, slot.chunkId);
      if (state === "good") {
        good.push(nodeId);
        keep.push(nodeId);
      } else if (state === "unknown") {
        const since = this.unreachableSince.get(nodeId);
        if (since === undefined || now - since < this.o.lostAfterMs) keep.push(nodeId);
      }
    }
    const want = Math.min(this.o.replicationFactor, liveCount);
    const missing = want - keep.length;
    if (missing <= 0 && keep.length === slot.replicas.length) return undefined;
    if (good.length === 0) return undefined;
    return { keep, good, missing: Math.max(0, missing) };
  }

  /** Asks a node for one byte of a chunk: whether its copy is there and readable. */
  private async probe(nodeId: string, chunkId: string): Promise<"good" | "lost" | "unknown"> {
    try {
      await this.o.replicas.readChunk(nodeId, chunkId, 0, 1);
      return "good";
    } catch (error) {
      const gone =
        error instanceof SandstoreError && (error.code === "ENOENT" || error.code === "EIO");
      return gone && error.path !== "" ? "lost" : "unknown";
    }
  }

  private async repairSlot(
    inodeId: number,
    slot: ChunkSlot,
    plan: { keep: string[]; good: string[]; missing: number },
  ): Promise<boolean> {
    try {
      const targets =
        plan.missing > 0 ? this.pickTargets(slot.chunkId, plan.keep, plan.missing) : [];
      if (targets.length > 0) {
        const bytes = await readVerifiedChunk(
          this.o.replicas,
          slot,
          plan.good,
          this.o.control.chunkSize(),
        );
        await this.pace(bytes.length * targets.length);
        for (const target of targets)
          await rewriteCopy(this.o.replicas, target, slot.chunkId, bytes);
      }
      return await this.o.control.recordReplicas(inodeId, slot.index, slot.chunkId, [
        ...plan.keep,
        ...targets,
      ]);
    } catch (error) {
      this.o.onError?.(error);
      return false;
    }
  }

  private pickTargets(chunkId: string, keep: readonly string[], count: number): string[] {
    const candidates = this.o.membership.liveMembers().filter((node) => !keep.includes(node.id));
    return this.o.placement.place(chunkId, candidates, count).map((node) => node.id);
  }

  /** Waits until `bytes` more fit in the rate limit. */
  private async pace(bytes: number): Promise<void> {
    const now = Date.now();
    const start = Math.max(now, this.nextCopyAtMs);
    this.nextCopyAtMs = start + (bytes / this.o.bytesPerSecond) * 1000;
    if (start > now) await new Promise((resolve) => setTimeout(resolve, start - now));
  }

  stop(): Promise<void> {
    return this.task.stop();
  }
}
