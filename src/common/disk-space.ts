/**
 * A node's disk, kept from filling: a full disk is an error, never an outage.
 *
 * - **Admission.** New writes (chunk copies, and metadata changes that add) are refused with
 *   ENOSPC once the free space would fall below `headroomBytes`, before the disk is full:
 *   what is left is for deletes, the metadata they change, and starting again. Refusing puts
 *   the guard in alarm (shown by `sandstore status`), as etcd's space quota raises NOSPACE;
 *   the alarm clears by itself once space is back.
 * - **The reserve.** A file of `reserveBytes` (`<dir>/reserve`) holds space back as ballast.
 *   When the disk is nearly full anyway (something else filled it, or the node was killed
 *   in the middle of a write) the reserve is released at start and before a delete, so the
 *   node can always start, serve reads and apply deletes. It is made again once there is
 *   room for it.
 *
 * The free space is read with statfs(2) on every admission: a system call of microseconds,
 * and never out of date.
 */
import { statfsSync } from "node:fs";
import { open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { fsError } from "./errors.ts";

/** The name of the reserve file in the guarded directory. */
export const RESERVE_FILE = "reserve";
/** Zeros written per call while making the reserve. */
const RESERVE_PIECE = 1024 * 1024;

/** What statfs(2) tells of a file system, in bytes. */
export interface FileSystemSpace {
  readonly freeBytes: number;
  readonly totalBytes: number;
}

export interface DiskSpaceOptions {
  /** The directory whose file system is guarded; the reserve file lives in it. */
  readonly dir: string;
  /** Bytes the reserve file holds back. 0 makes none. */
  readonly reserveBytes: number;
  /** Free bytes below which new writes are refused: room for a write in flight and deletes. */
  readonly headroomBytes: number;
  /** Where the free space is read from; injectable for tests. */
  readonly statfs?: (dir: string) => FileSystemSpace;
  /** Told when the reserve is released or made again. */
  readonly onReserve?: (event: "released" | "made", freeBytes: number) => void;
}

/** What `sandstore status` shows of a node's disk. */
export interface DiskSpaceStatus extends FileSystemSpace {
  /** True while writes are being refused for lack of space. */
  readonly alarm: boolean;
  /** Bytes the reserve file holds now (0 while released). */
  readonly reservedBytes: number;
}

function statfsOf(dir: string): FileSystemSpace {
  const s = statfsSync(dir);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

export class DiskSpace {
  private readonly statfs: (dir: string) => FileSystemSpace;
  private readonly reservePath: string;
  private reserved = 0;
  private alarm = false;
  /** Writes refused for lack of space, since start. */
  refusedTotal = 0;

  constructor(private readonly o: DiskSpaceOptions) {
    if (!Number.isSafeInteger(o.reserveBytes) || o.reserveBytes < 0)
      throw new RangeError(`a disk reserve of ${o.reserveBytes} bytes is not a byte count`);
    if (!Number.isSafeInteger(o.headroomBytes) || o.headroomBytes < 0)
      throw new RangeError(`a disk headroom of ${o.headroomBytes} bytes is not a byte count`);
    this.statfs = o.statfs ?? statfsOf;
    this.reservePath = join(o.dir, RESERVE_FILE);
  }

  /**
   * Call before opening anything else in the directory: releases the reserve when the disk
   * is too full to start without it, and makes it when there is room.
   */
  async start(): Promise<void> {
    this.reserved = await fileSize(this.reservePath);
    if (this.space().freeBytes < this.o.headroomBytes) await this.release();
    else await this.replenish();
  }

  /** Free and total bytes now, with the alarm. */
  status(): DiskSpaceStatus {
    return { ...this.space(), alarm: this.alarm, reservedBytes: this.reserved };
  }

  /**
   * Throws SandstoreError ENOSPC naming `path` when writing `bytes` more would leave less
   * than the headroom free, and raises the alarm; clears the alarm otherwise.
   */
  admitWrite(bytes: number, path: string): void {
    const { freeBytes } = this.space();
    if (freeBytes - bytes >= this.o.headroomBytes) {
      this.alarm = false;
      return;
    }
    this.alarm = true;
    this.refusedTotal += 1;
    throw fsError(
      "ENOSPC",
      path,
      `${freeBytes} bytes free, ${this.o.headroomBytes} kept for deletes: remove files to write again`,
    );
  }

  /** Before a delete: frees the reserve when the delete might not otherwise find room. */
  async beforeDelete(): Promise<void> {
    if (this.space().freeBytes < this.o.headroomBytes) await this.release();
  }

  /** Makes the reserve again when it was released and there is room for it and the headroom. */
  async replenish(): Promise<void> {
    if (this.o.reserveBytes === 0 || this.reserved >= this.o.reserveBytes) return;
    const { freeBytes } = this.space();
    if (freeBytes < this.o.reserveBytes + 2 * this.o.headroomBytes) return;
    const handle = await open(this.reservePath, "w", 0o600);
    try {
      const zeros = Buffer.alloc(Math.min(RESERVE_PIECE, this.o.reserveBytes));
      for (let written = 0; written < this.o.reserveBytes; written += zeros.length)
        await handle.write(zeros, 0, Math.min(zeros.length, this.o.reserveBytes - written));
      await handle.sync();
    } catch (error) {
      // The space went meanwhile: no reserve beats a partial one that looks whole.
      await handle.close();
      await rm(this.reservePath, { force: true });
      this.reserved = 0;
      if ((error as NodeJS.ErrnoException).code === "ENOSPC") return;
      throw error;
    }
    await handle.close();
    this.reserved = this.o.reserveBytes;
    this.o.onReserve?.("made", this.space().freeBytes);
  }

  private async release(): Promise<void> {
    if (this.reserved === 0) return;
    await rm(this.reservePath, { force: true });
    this.reserved = 0;
    this.o.onReserve?.("released", this.space().freeBytes);
  }

  private space(): FileSystemSpace {
    return this.statfs(this.o.dir);
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
}
