/**
 * Real node processes for tests: started with `sandstore node` on 127.0.0.1 and an ephemeral
 * port, stopped (or killed) by the test, their data directories removed at the end.
 */
import { type ChildProcess, type ChildProcessByStdio, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { NODE_RUNTIME_FLAGS } from "../../src/common/runtime-flags.ts";
import { killOnExit } from "./kill-on-exit.ts";

export const CLI = resolve(import.meta.dirname, "../../bin/sandstore.js");

/**
 * Starts `sandstore ARGS...` with the runtime flags a long-running command gets, stdin closed
 * and stdout and stderr piped, killed when the test process exits (see kill-on-exit.ts).
 * `env` is added to this process's environment.
 */
export function spawnCli(
  args: readonly string[],
  env: Record<string, string> = {},
): ChildProcessByStdio<null, Readable, Readable> {
  return killOnExit(
    spawn(process.execPath, [...NODE_RUNTIME_FLAGS, CLI, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    }),
  );
}

export interface NodeProcess {
  readonly address: string;
  readonly dataDir: string;
  readonly pid: number;
  /** SIGKILL: no chance to flush or close anything. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<void>;
}

export { waitFor } from "../../src/common/wait-for.ts";

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once("exit", () => r()));
}

/**
 * Starts a node on `dataDir` (a fresh temporary one when omitted) and resolves once it
 * printed its address. Its id is `n1` unless told. Extra CLI flags go in `args`.
 */
export async function startNode(
  options: { dataDir?: string; args?: string[]; port?: number; id?: string } = {},
): Promise<NodeProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "sandstore-node-")));
  const child = spawnCli([
    "node",
    "--id",
    options.id ?? "n1",
    "--listen",
    `127.0.0.1:${options.port ?? 0}`,
    "--data-dir",
    dataDir,
    "--quiet",
    ...(options.args ?? []),
  ]);
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += String(chunk);
  });
  const address = await new Promise<string>((resolveAddress, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`node did not start in 20 s: ${stderr}`)),
      20_000,
    );
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const match = /listening on (\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolveAddress(match[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code} before listening: ${stderr}`));
    });
  });
  return {
    address,
    dataDir,
    pid: child.pid!,
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
    },
    async stop() {
      child.kill("SIGTERM");
      await exited(child);
    },
  };
}

/** Removes a node's data directory. */
export async function removeDataDir(node: NodeProcess): Promise<void> {
  await rm(node.dataDir, { recursive: true, force: true });
}

/** Runs the CLI to completion; returns its exit code and output. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  input?: Buffer,
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = killOnExit(
      spawn(process.execPath, [CLI, ...args], {
        env: { ...process.env, ...env },
        stdio: ["pipe", "pipe", "pipe"],
      }),
    );
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk) => out.push(chunk));
    child.stderr.on("data", (chunk) => {
      stderr += String(chunk);
    });
    child.stdin.end(input);
    child.on("exit", (code) =>
      resolveRun({ code: code ?? -1, stdout: Buffer.concat(out), stderr }),
    );
  });
}
