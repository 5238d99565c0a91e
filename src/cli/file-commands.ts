/**
 * File commands: put, get, cat, ls, stat, mkdir, rm, rmdir, mv.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { stat as localStat } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Presets, SingleBar } from "cli-progress";
import type { Command } from "commander";
import type { Stats } from "../client/sandstore-client.ts";
import { type ClusterFlags, withClient, withCluster } from "./cli-support.ts";

/** Copies over this size show a progress bar on a terminal (SPEC §2). */
const PROGRESS_THRESHOLD = 8 * 1024 * 1024;

interface ClusterOptions extends ClusterFlags {
  json?: boolean;
}

/** A pass-through stream that moves a progress bar, when one is wanted. */
function progress(total: number | undefined, label: string): Transform | undefined {
  if (!process.stderr.isTTY || (total !== undefined && total <= PROGRESS_THRESHOLD))
    return undefined;
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} MiB | {speed} MiB/s`,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
  const started = Date.now();
  let done = 0;
  bar.start(mib(total ?? 0), 0, { speed: 0 });
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      bar.update(mib(done), { speed: Math.round(mib(done) / seconds) });
      callback(null, chunk);
    },
    flush(callback) {
      bar.stop();
      callback();
    },
  });
}

function modeString(stats: Stats): string {
  const bits = "rwxrwxrwx";
  let out = stats.isDirectory() ? "d" : "-";
  for (let i = 0; i < 9; i++) out += stats.mode & (1 << (8 - i)) ? bits[i] : "-";
  return out;
}

function statsJson(path: string, stats: Stats) {
  const { isFile: _f, isDirectory: _d, ...fields } = stats;
  return { path, ...fields };
}

export function registerFileCommands(program: Command): void {
  withCluster(program.command("put"))
    .description("copy a local file (or - for stdin) into the cluster")
    .argument("<local>", "local file, or - for standard input")
    .argument("<remote>", "absolute path in the cluster")
    .action(async (local: string, remote: string, options: ClusterOptions) => {
      const size = local === "-" ? undefined : (await localStat(local)).size;
      await withClient(options, async (client) => {
        const source =
          local === "-" ? process.stdin : createReadStream(local, { highWaterMark: 1024 * 1024 });
        const bar = progress(size, "put");
        const sink = client.createWriteStream(remote);
        await (bar ? pipeline(source, bar, sink) : pipeline(source, sink));
      });
    });

  withCluster(program.command("get"))
    .description("copy a file out of the cluster into a local file (or - for stdout)")
    .argument("<remote>", "absolute path in the cluster")
    .argument("<local>", "local file, or - for standard output")
    .action(async (remote: string, local: string, options: ClusterOptions) => {
      await withClient(options, async (client) => {
        const { size } = await client.stat(remote);
        const bar = local === "-" ? undefined : progress(size, "get");
        const source = client.createReadStream(remote);
        const sink = local === "-" ? process.stdout : createWriteStream(local);
        await (bar ? pipeline(source, bar, sink) : pipeline(source, sink));
      });
    });

  withCluster(program.command("cat"))
    .description("print a file")
    .argument("<remote>", "absolute path in the cluster")
    .action(async (remote: string, options: ClusterOptions) => {
      await withClient(options, (client) =>
        pipeline(client.createReadStream(remote), process.stdout, { end: false }),
      );
    });

  withCluster(program.command("ls"))
    .description("list a directory (or show a file)")
    .argument("[path]", "absolute path", "/")
    .option("-l", "long listing: mode, links, owner and group ids, size, modification time")
    .option("--json", "machine-readable output")
    .action(async (path: string, options: ClusterOptions & { l?: boolean }) => {
      await withClient(options, async (client) => {
        const stats = await client.stat(path);
        const entries = stats.isDirectory()
          ? client.opendir(path)
          : [{ name: path.slice(path.lastIndexOf("/") + 1), stats }];
        if (options.json) {
          const all = [];
          for await (const e of entries) all.push(statsJson(e.name, e.stats));
          console.log(JSON.stringify(all));
          return;
        }
        // Printed as the pages arrive: a huge directory lists in bounded memory.
        for await (const { name, stats: s } of entries) {
          if (!options.l) {
            console.log(s.isDirectory() ? `${name}/` : name);
            continue;
          }
          const time = new Date(s.mtimeMs).toISOString().replace("T", " ").slice(0, 19);
          console.log(
            `${modeString(s)} ${String(s.nlink).padStart(3)} ${String(s.uid).padStart(5)} ${String(s.gid).padStart(5)} ${String(s.size).padStart(12)} ${time} ${name}`,
          );
        }
      });
    });

  withCluster(program.command("stat"))
    .description("show a file's or directory's attributes")
    .argument("<path>", "absolute path")
    .option("--json", "machine-readable output")
    .action(async (path: string, options: ClusterOptions) => {
      await withClient(options, async (client) => {
        const s = await client.stat(path);
        if (options.json) {
          console.log(JSON.stringify(statsJson(path, s)));
          return;
        }
        console.log(`  File: ${path}`);
        console.log(`  Type: ${s.type}  Size: ${s.size}  Inode: ${s.ino}  Links: ${s.nlink}`);
        console.log(
          `Access: (0${s.mode.toString(8)}/${modeString(s)})  Uid: ${s.uid}  Gid: ${s.gid}`,
        );
        console.log(`Access: ${new Date(s.atimeMs).toISOString()}`);
        console.log(`Modify: ${new Date(s.mtimeMs).toISOString()}`);
        console.log(`Change: ${new Date(s.ctimeMs).toISOString()}`);
      });
    });

  withCluster(program.command("mkdir"))
    .description("create a directory")
    .argument("<path>", "absolute path")
    .option("-p, --parents", "create missing parents; no error if it exists")
    .action(async (path: string, options: ClusterOptions & { parents?: boolean }) => {
      await withClient(options, (client) =>
        client.mkdir(path, { recursive: options.parents ?? false }),
      );
    });

  withCluster(program.command("rm"))
    .description("remove a file, or a directory tree with -r")
    .argument("<path>", "absolute path")
    .option("-r, --recursive", "remove directories and their contents")
    .action(async (path: string, options: ClusterOptions & { recursive?: boolean }) => {
      await withClient(options, (client) =>
        client.rm(path, { recursive: options.recursive ?? false }),
      );
    });

  withCluster(program.command("rmdir"))
    .description("remove an empty directory")
    .argument("<path>", "absolute path")
    .action(async (path: string, options: ClusterOptions) => {
      await withClient(options, (client) => client.rmdir(path));
    });

  withCluster(program.command("mv"))
    .description("rename a file or directory, replacing an existing destination file")
    .argument("<source>", "absolute path")
    .argument("<destination>", "absolute path")
    .action(async (source: string, destination: string, options: ClusterOptions) => {
      await withClient(options, (client) => client.rename(source, destination));
    });
}
