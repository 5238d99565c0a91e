/**
 * `sandstore mount MOUNTPOINT`: the cluster as a FUSE file system, in the foreground until
 * Ctrl-C or `sandstore umount MOUNTPOINT`; `umount` unmounts (lazily with --lazy, for a
 * mount with files still open).
 */
import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import type { Command } from "commander";
import { connect } from "../client/connect.ts";
import {
  type ClusterFlags,
  clientCredentials,
  nonNegativeInteger,
  UsageError,
  withCluster,
} from "./cli-support.ts";

interface MountFlags extends ClusterFlags {
  cacheTimeout: number;
  allowOther?: boolean;
}

export function registerMountCommands(program: Command): void {
  withCluster(
    program
      .command("mount")
      .argument("<mountpoint>", "an empty directory")
      .description("mount the cluster as a file system (FUSE) in the foreground; Ctrl-C unmounts")
      .option(
        "--cache-timeout <seconds>",
        "how long the kernel may trust attributes and names it has seen; 0 asks every time",
        nonNegativeInteger,
        1,
      )
      .option(
        "--allow-other",
        "let every user of this machine use the mount, the kernel checking each file's mode (root, or user_allow_other in /etc/fuse.conf)",
      ),
  ).action(async (mountpoint: string, flags: MountFlags) => {
    const where = resolve(mountpoint);
    const info = await stat(where).catch(() => undefined);
    if (!info?.isDirectory()) throw new UsageError(`${where} is not a directory`);
    // Loaded here: no other command needs the native bridge.
    const { loadFuseBinding } = await import("../mount/fuse-binding.ts");
    const { SandstoreFileSystem } = await import("../mount/sandstore-file-system.ts");
    const binding = loadFuseBinding();
    const client = connect(flags.cluster, {
      retryForMs: 10_000,
      tlsCa: flags.tlsCa,
      credentials: clientCredentials(flags),
    });
    await client.status();
    let over = false;
    let ended: () => void = () => {};
    const exited = new Promise<void>((done) => {
      ended = () => {
        over = true;
        done();
      };
    });
    const fs = new SandstoreFileSystem(
      client,
      binding,
      (op, path, error) => console.error(`sandstore mount: ${op} ${path}: ${String(error)}`),
      () => ended(),
    );
    const t = flags.cacheTimeout;
    const options = [
      "fsname=sandstore",
      "subtype=sandstore",
      "default_permissions",
      // Attributes are looked up again at each open, so a file another client closed shows its
      // new size here (close-to-open).
      "auto_cache",
      `attr_timeout=${t}`,
      `entry_timeout=${t}`,
      `negative_timeout=${t}`,
      ...(flags.allowOther ? ["allow_other"] : []),
    ].join(",");
    const handle = binding.mount(where, options, fs.dispatch);
    console.log(
      `mounted ${flags.cluster} on ${where}; Ctrl-C or sandstore umount ${where} unmounts`,
    );
    const unmount = async () => {
      // Unmounted from outside already (sandstore umount): nothing is left to detach.
      if (over) return;
      await fs.flushAll();
      binding.unmount(handle);
      // Lazy: files still open keep their descriptors; the loop ends once the kernel lets go.
      await detach(where, true);
    };
    // A detach that fails (already unmounted from outside) is said; the loop's end decides.
    const onSignal = () => {
      unmount().catch((error: unknown) =>
        console.error(
          `sandstore mount: unmount: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    await exited;
    await fs.flushAll();
    await client.closeClient();
    console.log(`unmounted ${where} after ${fs.counters.requests} requests`);
  });

  program
    .command("umount")
    .argument("<mountpoint>", "where a sandstore mount is")
    .option("--lazy", "detach now even with files open; the mount goes once they close")
    .description("unmount a sandstore mount")
    .action(async (mountpoint: string, flags: { lazy?: boolean }) => {
      await detach(resolve(mountpoint), flags.lazy ?? false);
    });
}

/** `fusermount3 -u` of `mountpoint` (`-z`: lazily); an Error with what it said on failure. */
async function detach(mountpoint: string, lazy: boolean): Promise<void> {
  try {
    await promisify(execFile)("fusermount3", ["-u", ...(lazy ? ["-z"] : []), mountpoint]);
  } catch (error) {
    const stderr = error instanceof Error && "stderr" in error ? String(error.stderr).trim() : "";
    throw new Error(stderr || String(error));
  }
}
