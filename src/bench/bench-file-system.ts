/**
 * What the file benchmark needs of a file system, and two ways to get it: Sandstore through
 * the SDK, and any mounted file system through node:fs (MooseFS through mfsmount, a local
 * disk), so every system runs the same workload code.
 */
import { mkdir as mkdirLocal, open as openLocal, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { O_CREAT, O_EXCL, O_RDONLY, O_WRONLY, type SandstoreClient } from "../index.ts";

/** An open file: sequential writes, positioned reads. */
export interface BenchFile {
  /** Appends `data` at the file's write position. */
  write(data: Buffer): Promise<void>;
  /** Up to `length` bytes at `position`; fewer only at the end of the file. */
  read(length: number, position: number): Promise<Buffer>;
  /** Closes; after a write, the bytes are durable when it resolves. */
  close(): Promise<void>;
}

export interface BenchFileSystem {
  /** Makes `path` and its parents; an existing directory is fine. */
  mkdir(path: string): Promise<void>;
  /** Creates a new file for writing; EEXIST when it exists. */
  create(path: string): Promise<BenchFile>;
  open(path: string): Promise<BenchFile>;
  stat(path: string): Promise<void>;
  /** Lists the whole directory; resolves to the number of entries. */
  list(path: string): Promise<number>;
  /** Removes `path` and everything under it. */
  remove(path: string): Promise<void>;
}

/** Sandstore through one SDK client (which the caller owns and closes). */
export function sdkFileSystem(client: SandstoreClient): BenchFileSystem {
  const file = (fd: number): BenchFile => ({
    write: async (data) => {
      await client.write(fd, data);
    },
    read: (length, position) => client.pread(fd, length, position),
    close: () => client.close(fd),
  });
  return {
    mkdir: (path) => client.mkdir(path, { recursive: true }),
    create: async (path) => file(await client.open(path, O_CREAT | O_EXCL | O_WRONLY)),
    open: async (path) => file(await client.open(path, O_RDONLY)),
    stat: async (path) => {
      await client.stat(path);
    },
    list: async (path) => (await client.readdir(path)).length,
    remove: (path) => client.rm(path, { recursive: true }),
  };
}

/**
 * A mounted file system under `root` through node:fs. Closing a written file fsyncs it first,
 * so "durable at close" means the same as on Sandstore.
 */
export function mountedFileSystem(root: string): BenchFileSystem {
  const at = (path: string) => join(root, path);
  const file = (handle: Awaited<ReturnType<typeof openLocal>>, written: boolean): BenchFile => {
    let dirty = false;
    return {
      write: async (data) => {
        dirty = true;
        let done = 0;
        while (done < data.length) {
          done += (await handle.write(data, done, data.length - done)).bytesWritten;
        }
      },
      read: async (length, position) => {
        const buffer = Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(buffer, 0, length, position);
        return buffer.subarray(0, bytesRead);
      },
      close: async () => {
        if (written && dirty) await handle.sync();
        await handle.close();
      },
    };
  };
  return {
    mkdir: async (path) => {
      await mkdirLocal(at(path), { recursive: true });
    },
    create: async (path) => file(await openLocal(at(path), "wx"), true),
    open: async (path) => file(await openLocal(at(path), "r"), false),
    stat: async (path) => {
      await stat(at(path));
    },
    list: async (path) => (await readdir(at(path))).length,
    remove: (path) => rm(at(path), { recursive: true, force: true }),
  };
}
