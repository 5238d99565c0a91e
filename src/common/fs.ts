/**
 * File-system helpers for durable writes.
 */
import { closeSync, constants, fsyncSync, openSync } from "node:fs";
import { open, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Fsyncs a directory so that a file created, renamed or removed in it is durable: without
 * it a crash can forget a rename even though the file's own data was fsynced.
 */
export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `fsyncDirectory` for code that cannot wait: a store's constructor. */
export function fsyncDirectorySync(path: string): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Takes `<dir>/LOCK` for this process so that two nodes never share a data directory. A lock
 * left by a process that no longer runs (kill -9) is taken over. Throws EBUSY-style Error
 * naming the holder otherwise. Returns the release function.
 */
export async function lockDirectory(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, "LOCK");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: "wx" });
      return async () => {
        await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
      if (Number.isInteger(holder) && holder !== process.pid && processIsAlive(holder)) {
        throw new Error(`data directory ${dir} is in use by process ${holder}`);
      }
      await rm(path, { force: true });
    }
  }
  throw new Error(`could not lock data directory ${dir}`);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
