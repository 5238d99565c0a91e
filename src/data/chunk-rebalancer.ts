/**
 * Rebalancing: evens out the bytes each data server holds after the cluster grew, as HDFS's
 * balancer and `mc admin rebalance` do. Runs on the metadata leader, a step at a time: a step
 * reads the whole chunk map, adds up the bytes listed on each live data server that is not
 * draining, then moves copies from the server holding the most to the one holding the fewest
 * (`ChunkRepairer.moveCopy`: the target copies the chunk, the map lists it instead, garbage
 * collection deletes the old copy) until they are within a tolerance of each other or the
 * step's byte budget is spent.
 *
 * Paced (`bytesPerSecond`) and resumable: a step keeps no state but its pace, so a step after
 * a restart, a leader change or an interrupted `sandstore rebalance` starts from the map as
 * it is.
 */
import { UnavailableError } from "../common/errors.ts";
import { RateLimiter } from "../common/rate-limiter.ts";
import type { ControlPlane } from "../control/control-plane.ts";
import type { Membership } from "../membership/membership.ts";
import type { ChunkSlot } from "../metadata/metadata-store.ts";
import { forEachChunkSlot } from "./chunk-slot-walk.ts";

/**
 * Slots remembered per server in one step, as candidates to move: bounds a step's memory on
 * a map of millions of chunks. A step moves at most this many copies off one server.
 */
const CANDIDATES_PER_SERVER = 4096;
/** Failed moves after which a step gives up: a target that cannot take copies stops it. */
const MAX_FAILED_MOVES = 8;

/** One copy move, as the repairer makes it. */
export type MoveCopy = (
  inodeId: number,
  slot: ChunkSlot,
  from: string,
  to: string,
) => Promise<boolean>;

export interface ChunkRebalancerOptions {
  readonly control: ControlPlane;
  readonly membership: Membership;
  /** The data servers marked draining: they neither give nor take copies here. */
  readonly draining: () => readonly string[];
  readonly moveCopy: MoveCopy;
}

/** What one step asks. */
export interface RebalanceStepRequest {
  /** Most bytes of copies to move; at least one copy is moved when any would help. */
  readonly maxBytes: number;
  /** Pace, bytes per second, positive. */
  readonly bytesPerSecond: number;
  /** Spread (most minus fewest bytes) at which servers are even, percent of the mean. */
  readonly tolerancePercent: number;
}

/** What one step did, and where the servers stand after it. */
export interface RebalanceStepResult {
  readonly moved: number;
  readonly movedBytes: number;
  /** Bytes each live, not draining data server holds by the chunk map, in id order. */
  readonly servers: ReadonlyArray<{ readonly nodeId: string; readonly bytes: number }>;
  /** True when the servers are within the tolerance, or no move brings them closer. */
  readonly balanced: boolean;
}

export class ChunkRebalancer {
  private pace: RateLimiter | undefined;
  private paceRate = 0;
  private running = false;

  constructor(private readonly o: ChunkRebalancerOptions) {}

  /**
   * One step. Throws RangeError for a request out of range, UnavailableError EAGAIN when this
   * node stopped leading during it, and Error when a step is already running (one at a time:
   * two would plan from the same map and move the same copies).
   */
  async step(request: RebalanceStepRequest): Promise<RebalanceStepResult> {
    if (!(request.maxBytes > 0)) throw new RangeError("a rebalance step needs max bytes above 0");
    if (!(request.tolerancePercent >= 0 && request.tolerancePercent <= 100))
      throw new RangeError("the tolerance is a percentage, 0 to 100");
    if (this.running) throw new Error("a rebalance step is already running");
    this.running = true;
    try {
      if (!this.pace || this.paceRate !== request.bytesPerSecond) {
        this.pace = new RateLimiter(request.bytesPerSecond);
        this.paceRate = request.bytesPerSecond;
      }
      return await this.run(request, this.pace);
    } finally {
      this.running = false;
    }
  }

  private async run(request: RebalanceStepRequest, pace: RateLimiter) {
    const draining = this.o.draining();
    const servers = this.o.membership
      .liveMembers("data")
      .map((node) => node.id)
      .filter((id) => !draining.includes(id));
    const bytes = new Map(servers.map((id) => [id, 0]));
    const candidates = new Map(
      servers.map((id) => [id, [] as Array<{ inodeId: number; slot: ChunkSlot }>]),
    );
    const complete = await forEachChunkSlot(
      this.o.control,
      () => this.o.control.isLeader(),
      async (inodeId, slot) => {
        for (const id of slot.replicas) {
          const held = bytes.get(id);
          if (held === undefined) continue;
          bytes.set(id, held + slot.length);
          const list = candidates.get(id);
          if (list && list.length < CANDIDATES_PER_SERVER) list.push({ inodeId, slot });
        }
      },
    );
    if (!complete)
      throw new UnavailableError(
        "EAGAIN",
        "",
        "this node stopped leading during the rebalance step",
      );
    let moved = 0;
    let movedBytes = 0;
    let failed = 0;
    let balanced = servers.length < 2;
    while (!balanced) {
      const order = [...bytes].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
      const [fewest, fewestBytes] = order[0] ?? ["", 0];
      const [most, mostBytes] = order.at(-1) ?? ["", 0];
      const mean = order.reduce((sum, [, held]) => sum + held, 0) / order.length;
      const gap = mostBytes - fewestBytes;
      if (gap <= (mean * request.tolerancePercent) / 100) {
        balanced = true;
        break;
      }
      // A copy the emptiest server lacks, small enough that moving it narrows the gap.
      const list = candidates.get(most) ?? [];
      const at = list.findIndex(
        ({ slot }) => !slot.replicas.includes(fewest) && slot.length > 0 && slot.length < gap,
      );
      const pick = list[at];
      if (!pick) {
        balanced = true;
        break;
      }
      list.splice(at, 1);
      if (moved > 0 && movedBytes + pick.slot.length > request.maxBytes) break;
      await pace.take(pick.slot.length);
      if (await this.o.moveCopy(pick.inodeId, pick.slot, most, fewest)) {
        moved++;
        movedBytes += pick.slot.length;
        bytes.set(most, mostBytes - pick.slot.length);
        bytes.set(fewest, fewestBytes + pick.slot.length);
      } else if (++failed >= MAX_FAILED_MOVES) break;
    }
    return {
      moved,
      movedBytes,
      servers: [...bytes]
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([nodeId, held]) => ({ nodeId, bytes: held })),
      balanced,
    };
  }
}
