/**
 * `sandstore bench`: load generators. `bench kv` drives a key-value cluster (or etcd, for a
 * comparison) with C connections: SETs, then linearizable GETs.
 */
import type { Command } from "commander";
import {
  etcdDrivers,
  formatRow,
  runKvLoad,
  sandstoreDrivers,
  TABLE_HEADER,
} from "../bench/kv-load.ts";
import { positiveInteger } from "./cli-support.ts";

export function registerBenchCommands(program: Command): void {
  const bench = program.command("bench").description("load generators");
  bench
    .command("kv")
    .description("SET then GET load on a key-value cluster (or etcd with --etcd)")
    .option(
      "--cluster <addresses>",
      "Sandstore client addresses, host:port,...",
      "127.0.0.1:6001,127.0.0.1:6002,127.0.0.1:6003",
    )
    .option("--etcd <endpoints>", "drive etcd at these client endpoints instead, host:port,...")
    .option("--clients <n>", "concurrent connections", positiveInteger, 16)
    .option("--value-size <bytes>", "bytes per value", positiveInteger, 256)
    .option("--duration <seconds>", "seconds per phase", positiveInteger, 10)
    .option("--json", "machine-readable output")
    .action(
      async (flags: {
        cluster: string;
        etcd?: string;
        clients: number;
        valueSize: number;
        duration: number;
        json?: boolean;
      }) => {
        const split = (text: string) =>
          text
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean);
        const drivers = flags.etcd
          ? await etcdDrivers(split(flags.etcd), flags.clients)
          : await sandstoreDrivers(split(flags.cluster), flags.clients);
        try {
          const results = await runKvLoad(drivers, flags.duration, flags.valueSize);
          if (flags.json) console.log(JSON.stringify(results));
          else {
            console.log(TABLE_HEADER);
            for (const r of results) console.log(formatRow(flags.etcd ? "etcd" : "sandstore", r));
          }
        } finally {
          await Promise.all(drivers.map((d) => d.close()));
        }
      },
    );
}
