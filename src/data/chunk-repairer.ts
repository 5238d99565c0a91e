/**
 * Repair: brings every chunk back to R good copies. Runs on the leader only. A pass lists the
 * chunks each live node holds, then walks every chunk slot of the namespace a page at a time;
 * a slot whose chunk has fewer good copies than it should (a node was down during the write,
 * a listed node lost its copy or has been unreachable too long) gets its chunk copied from a
 * good replica to other live nodes, and the new replica list is committed through metadata,
 * on condition that the slot still points at that chunk.
 *
 * A data server marked draining counts for nothing: its copies are copied to other servers
 * (they serve as sources meanwhile), then dropped from the chunk map, and garbage collection
 * deletes them from its disk after the grace period. Each pass counts the slots that still
 * list a draining server: `sandstore drain` reports it.
 *
 * Bounded: copies are paced to `bytesPerSecond`, and each pass reads the namespace in pages.
 */
import { SandstoreError } from "../common/errors.ts";
import { PeriodicTask } from "../common/periodic-task.ts";
import { RateLimiter } from "../common/rate-limiter.ts";
import type { ControlPlane } from "../control/control-plane.ts";
import type { Member, Membership, NodeInfo } from "../membership/membership.ts";
import type { ChunkSlot } from "../metadata/metadata-store.ts";
import type { PlacementStrategy } from "../placement/placement-strategy.ts";
import { forEachChunkSlot } from "./chunk-slot-walk.ts";
import type { ReplicaAccess } from "./replica-access.ts";

/**
 * What is known of one copy: `good` (it is there, and readable or verified), `lost` (its node
 * answered that it is missing or damaged), or `unknown` (its node could not be asked).
 */
export type CopyState = "good" | "lost" | "unknown";

/** The state of a copy whose node answered a read or verification with `error`. */
export function copyStateOf(error: unknown): CopyState {
  const gone = error instanceof SandstoreError && (error.code === "ENOENT" || error.code === "EIO");
  // An error without a path came from the transport, not from the node's store.
  return gone && error.path !== "" ? "lost" : "unknown";
}

export interface ChunkRepairerOptions {
  readonly control: ControlPlane;
  readonly membership: Membership;
  readonly replicas: ReplicaAccess;
  readonly placement: PlacementStrategy;
  /** Time between passes, ms. */
  readonly intervalMs: number;
  /**
   * How long a listed replica's node may be unreachable before its copy counts as lost and is
   * replaced, ms: a node that restarts is not worth copying all its chunks elsewhere.
   */
  readonly lostAfterMs: number;
  /** Copy rate limit, bytes per second. */
  readonly bytesPerSecond: number;
  /** The data servers marked draining now (the metadata's `drainingNodes`). */
  readonly draining: () => readonly string[];
  readonly onError?: (error: unknown) => void;
  /**
   * A slot's copies were repaired and recorded: `added` are the nodes given new copies (none
   * when only a draining server's listing was dropped), `replicas` the copies it lists now.
   */
  readonly onRepaired?: (
    chunkId: string,
    added: readonly string[],
    replicas: readonly string[],
  ) => void;
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
  /**
   * Each server marked draining, with the slots that still listed it at the end of the last
   * complete pass (0 for one marked since: a pass must run before it counts).
   */
  readonly drainCopiesLeft: ReadonlyMap<string, number>;
}

/** What one slot needs (`ChunkRepairer.plan`). */
interface RepairPlan {
  /** Copies to keep, on servers not draining. */
  readonly keep: string[];
  /** Copies known good, any server: the sources of new copies. */
  readonly good: string[];
  /** Copies on draining servers: kept only while the others are fewer than `want`. */
  readonly leaving: string[];
  /** Copies the slot should have. */
  readonly want: number;
  /** New copies to make. */
  readonly missing: number;
}

export class ChunkRepairer {
  private readonly task: PeriodicTask;
  private passes = 0;
  private underReplicated = 0;
  private pending = 0;
  private repairedTotal = 0;
  private failuresTotal = 0;
  private lastPassMs = 0;
  private drainCopiesLeft = new Map<string, number>();
  /** When each unreachable node was first seen unreachable, ms. */
  private readonly unreachableSince = new Map<string, number>();
  /** Chunks being repaired now; bounded by the one pass and the one scrub running. */
  private readonly inRepair = new Set<string>();
  /** Paces copies to `bytesPerSecond`. */
  private readonly copyRate: RateLimiter;

  constructor(private readonly o: ChunkRepairerOptions) {
    this.copyRate = new RateLimiter(o.bytesPerSecond);
    this.task = new PeriodicTask(
      async () => {
        if (await this.o.control.isLeader()) await this.repairPass();
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
      drainCopiesLeft: new Map(
        this.o.draining().map((id) => [id, this.drainCopiesLeft.get(id) ?? 0] as const),
      ),
    };
  }

  /** Live data servers not draining: where copies may go. */
  private homes(): Member[] {
    const draining = this.o.draining();
    return this.o.membership.liveMembers("data").filter((node) => !draining.includes(node.id));
  }

  /** One pass over every chunk slot; returns how many slots it found short of copies. */
  async repairPass(): Promise<number> {
    const live = this.o.membership.liveMembers("data");
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
    const homes = this.homes().length;
    const draining = this.o.draining();
    const left = new Map<string, number>();
    const complete = await forEachChunkSlot(
      this.o.control,
      async () => !this.task.isStopped && (await this.o.control.isLeader()),
      async (inodeId, slot) => {
        const outcome = await this.repairOne(inodeId, slot, homes, (nodeId) =>
          this.listedOrProbed(nodeId, slot.chunkId, held),
        );
        if (outcome === "repaired" || outcome === "failed") found++;
        // A repaired slot dropped its draining copies (or kept them for want of homes: the
        // next pass counts those).
        if (outcome === "repaired") return;
        for (const id of slot.replicas)
          if (draining.includes(id)) left.set(id, (left.get(id) ?? 0) + 1);
      },
    );
    if (!complete) return found;
    this.passes++;
    this.underReplicated = found;
    this.lastPassMs = Date.now();
    this.drainCopiesLeft = left;
    return found;
  }

  private noteReachability(live: readonly NodeInfo[]): void {
    const now = Date.now();
    const liveIds = new Set(live.map((node) => node.id));
    for (const node of this.o.membership.members("data")) {
      if (liveIds.has(node.id)) this.unreachableSince.delete(node.id);
      else if (!this.unreachableSince.has(node.id)) this.unreachableSince.set(node.id, now);
    }
  }

  /**
   * Brings one slot back to R good copies now, given what was just learned of each of its
   * copies (the scrub's way in): a copy `lost` is dropped and replaced, one `unknown` is kept
   * until its node has been unreachable `lostAfterMs`. Resolves false when the slot could not
   * be repaired: no good copy to copy from, a copy or commit failed, or the slot changed.
   */
  async repairCopies(
    inodeId: number,
    slot: ChunkSlot,
    states: ReadonlyMap<string, CopyState>,
  ): Promise<boolean> {
    this.noteReachability(this.o.membership.liveMembers("data"));
    const outcome = await this.repairOne(
      inodeId,
      slot,
      this.homes().length,
      async (nodeId) => states.get(nodeId) ?? "unknown",
    );
    if (outcome === "enough") return slot.replicas.some((id) => states.get(id) === "good");
    // A chunk another repair holds is being brought back to R copies by it.
    return outcome !== "failed";
  }

  /**
   * Plans and repairs one slot, unless a repair of its chunk is already under way (from the
   * pass, the scrub or a move): two at once would write the same copies and race their
   * commits. `homes` is the number of live data servers not draining.
   */
  private async repairOne(
    inodeId: number,
    slot: ChunkSlot,
    homes: number,
    stateOf: (nodeId: string) => Promise<CopyState>,
  ): Promise<"enough" | "repaired" | "failed" | "busy"> {
    if (this.inRepair.has(slot.chunkId)) return "busy";
    this.inRepair.add(slot.chunkId);
    try {
      const plan = await this.plan(slot, homes, stateOf);
      if (!plan) return "enough";
      this.pending++;
      const repaired = await this.repairSlot(inodeId, slot, plan);
      this.pending--;
      if (repaired) this.repairedTotal++;
      else this.failuresTotal++;
      return repaired ? "repaired" : "failed";
    } finally {
      this.inRepair.delete(slot.chunkId);
    }
  }

  /**
   * What a slot needs: the copies to keep, the good ones among them, those on draining
   * servers, and how many more to make; undefined when it has enough, or has no good copy to
   * copy from. `stateOf` says what is known of the copy on a node. A copy on a node that cannot
   * be asked counts until the node has been unreachable `lostAfterMs`.
   */
  private async plan(
    slot: ChunkSlot,
    homes: number,
    stateOf: (nodeId: string) => Promise<CopyState>,
  ): Promise<RepairPlan | undefined> {
    const now = Date.now();
    const draining = this.o.draining();
    const good: string[] = [];
    const keep: string[] = [];
    const leaving: string[] = [];
    for (const nodeId of slot.replicas) {
      const state = await stateOf(nodeId);
      if (state === "good") good.push(nodeId);
      const since = this.unreachableSince.get(nodeId);
      const kept =
        state === "good" ||
        (state === "unknown" && (since === undefined || now - since < this.o.lostAfterMs));
      if (kept) (draining.includes(nodeId) ? leaving : keep).push(nodeId);
    }
    // R copies, or one on every server that may take one when fewer are live.
    const want = Math.min((await this.o.control.settings()).replicationFactor, homes);
    const missing = want - keep.length;
    if (missing <= 0 && keep.length === slot.replicas.length) return undefined;
    if (good.length === 0) return undefined;
    return { keep, good, leaving, want, missing: Math.max(0, missing) };
  }

  /**
   * What a pass knows of a copy: a listing is only a hint (it was taken before the slot was
   * read, so a newer chunk is absent from it), so a copy it lacks is probed directly, and only
   * a copy the node says is missing (ENOENT) or damaged (EIO) is lost.
   */
  private async listedOrProbed(
    nodeId: string,
    chunkId: string,
    held: ReadonlyMap<string, ReadonlySet<string>>,
  ): Promise<CopyState> {
    if (held.get(nodeId)?.has(chunkId)) return "good";
    try {
      await this.o.replicas.readChunk(nodeId, chunkId, 0, 1);
      return "good";
    } catch (error) {
      return copyStateOf(error);
    }
  }

  private async repairSlot(inodeId: number, slot: ChunkSlot, plan: RepairPlan): Promise<boolean> {
    try {
      const targets =
        plan.missing > 0
          ? this.pickTargets(slot.chunkId, slot.length, plan.keep, plan.missing)
          : [];
      if (targets.length > 0) {
        const { chunkSize } = await this.o.control.settings();
        // Counted before the copy, by the slot's length: the copy itself happens on the target.
        await this.copyRate.take(slot.length * targets.length);
        // Each target reads a good copy itself: the bytes go from node to node, not through
        // this one (in the disaggregated topology, a metadata server).
        for (const target of targets)
          await this.o.replicas.copyChunk(target, slot, plan.good, chunkSize);
      }
      const replicas = [...plan.keep, ...targets];
      // A draining server's copies go only once the others are enough.
      if (replicas.length < plan.want || replicas.length === 0) replicas.push(...plan.leaving);
      const recorded = await this.o.control.recordReplicas(
        inodeId,
        slot.index,
        slot.chunkId,
        replicas,
      );
      if (recorded) this.o.onRepaired?.(slot.chunkId, targets, replicas);
      return recorded;
    } catch (error) {
      this.o.onError?.(error);
      return false;
    }
  }

  /**
   * Moves one copy of a slot's chunk from server `from` to server `to` (rebalancing): `to`
   * copies it from a good replica, then the chunk map lists `to` instead of `from`, on
   * condition that the slot still holds the chunk; garbage collection deletes `from`'s copy
   * later. Resolves false when the move did not happen: a repair of the chunk is under way,
   * the slot changed, or a copy failed (passed to `onError`). Paced as repair's copies are.
   */
  async moveCopy(inodeId: number, slot: ChunkSlot, from: string, to: string): Promise<boolean> {
    if (this.inRepair.has(slot.chunkId)) return false;
    if (!slot.replicas.includes(from) || slot.replicas.includes(to)) return false;
    this.inRepair.add(slot.chunkId);
    try {
      const { chunkSize } = await this.o.control.settings();
      await this.copyRate.take(slot.length);
      const sources = [from, ...slot.replicas.filter((id) => id !== from)];
      await this.o.replicas.copyChunk(to, slot, sources, chunkSize);
      const replicas = slot.replicas.map((id) => (id === from ? to : id));
      return await this.o.control.recordReplicas(inodeId, slot.index, slot.chunkId, replicas);
    } catch (error) {
      this.o.onError?.(error);
      return false;
    } finally {
      this.inRepair.delete(slot.chunkId);
    }
  }

  /**
   * `count` new homes for a chunk of `bytes`: live data nodes, not draining, without a copy,
   * with room.
   */
  private pickTargets(
    chunkId: string,
    bytes: number,
    keep: readonly string[],
    count: number,
  ): string[] {
    const candidates = this.homes().filter(
      (node) =>
        !keep.includes(node.id) && (node.freeBytes === undefined || node.freeBytes >= bytes),
    );
    return this.o.placement.place(chunkId, candidates, count).map((node) => node.id);
  }

  stop(): Promise<void> {
    this.copyRate.release();
    return this.task.stop();
  }
}
