/**
 * A 3-member etcd cluster (Debian's etcd-server, `etcd` on the PATH) on 127.0.0.1 with
 * ephemeral ports and a temporary data directory, for side-by-side benchmarks.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { etcdDrivers } from "../../src/bench/kv-load.ts";
import { freePorts } from "../../src/common/free-ports.ts";

/** Starts the cluster and resolves once it takes a write; `stop` kills it and removes its data. */
export async function startEtcd(): Promise<{ endpoints: string[]; stop(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), "sandstore-etcd-"));
  const ports = await freePorts(6);
  const names = ["m1", "m2", "m3"];
  const initial = names.map((n, i) => `${n}=http://127.0.0.1:${ports[3 + i]}`).join(",");
  const children: ChildProcess[] = names.map((name, i) =>
    spawn(
      "etcd",
      [
        "--name",
        name,
        "--data-dir",
        join(root, name),
        "--listen-client-urls",
        `http://127.0.0.1:${ports[i]}`,
        "--advertise-client-urls",
        `http://127.0.0.1:${ports[i]}`,
        "--listen-peer-urls",
        `http://127.0.0.1:${ports[3 + i]}`,
        "--initial-advertise-peer-urls",
        `http://127.0.0.1:${ports[3 + i]}`,
        "--initial-cluster",
        initial,
        "--initial-cluster-state",
        "new",
        "--log-level",
        "error",
      ],
      { stdio: "ignore" },
    ),
  );
  const endpoints = ports.slice(0, 3).map((p) => `127.0.0.1:${p}`);
  const probe = (await etcdDrivers(endpoints, 1))[0]!;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await probe.set("probe", "x");
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await probe.close();
  return {
    endpoints,
    async stop() {
      for (const child of children) child.kill("SIGTERM");
      await Promise.all(
        children.map(
          (c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r))),
        ),
      );
      await rm(root, { recursive: true, force: true });
    },
  };
}
