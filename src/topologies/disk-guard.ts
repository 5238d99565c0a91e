/**
 * The disk guard's wiring, shared by the file topologies: a node's data directory watched by
 * `DiskSpace`, its reserve made again in the background once deletes have made room.
 */
import { DiskSpace } from "../common/disk-space.ts";
import { PeriodicTask } from "../common/periodic-task.ts";
import type { Logger } from "../observability/logger.ts";

/** Reserve of a node unless `--disk-reserve-bytes` says otherwise. */
export const DEFAULT_DISK_RESERVE_BYTES = 64 * 1024 * 1024;
/**
 * Free bytes below which writes are refused: room for the metadata of deletes and for a start
 * (the Raft log's or the WAL's next segment, LMDB's pages).
 */
export const DISK_HEADROOM_BYTES = 4 * 1024 * 1024;
/** How often a released reserve is tried again. */
const REPLENISH_INTERVAL_MS = 10_000;

/** A started guard and its background task. */
export interface DiskGuard {
  readonly space: DiskSpace;
  stop(): Promise<void>;
}

/** Guards `dataDir`; call before anything else opens files in it. */
export async function startDiskGuard(
  dataDir: string,
  reserveBytes: number | undefined,
  logger: Logger,
): Promise<DiskGuard> {
  const space = new DiskSpace({
    dir: dataDir,
    reserveBytes: reserveBytes ?? DEFAULT_DISK_RESERVE_BYTES,
    headroomBytes: DISK_HEADROOM_BYTES,
    onReserve: (event, freeBytes) =>
      logger.warn(
        { freeBytes },
        event === "released" ? "disk reserve released" : "disk reserve made again",
      ),
  });
  await space.start();
  const task = new PeriodicTask(
    () => space.replenish(),
    REPLENISH_INTERVAL_MS,
    (error) => logger.warn({ err: error }, "making the disk reserve again failed"),
  );
  task.start();
  return { space, stop: () => task.stop() };
}
