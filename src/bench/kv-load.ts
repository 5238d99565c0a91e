/**
 * A key-value load generator: C clients, each with its own connection, doing SETs for a while
 * and then GETs, recording ops/s and latency percentiles. It drives Sandstore's plaintext
 * protocol, or etcd through the etcd3 client, with the same loop and the same key set.
 */
import { KvConnection, kvRequest } from "../kv/kv-client.ts";

/** One client's way of talking to a store. */
export interface KvDriver {
  set(key: string, value: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface PhaseResult {
  readonly op: "SET" | "GET";
  readonly clients: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

const KEYS = 1000;

/** Runs `seconds` of SETs, then `seconds` of GETs, with `clients` drivers. */
export async function runKvLoad(
  drivers: readonly KvDriver[],
  seconds: number,
  valueBytes: number,
): Promise<PhaseResult[]> {
  const value = "v".repeat(valueBytes);
  const results: PhaseResult[] = [];
  for (const op of ["SET", "GET"] as const) {
    const latencies: number[] = [];
    let errors = 0;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(
      drivers.map(async (driver, client) => {
        let i = client;
        while (performance.now() < deadline) {
          const key = `bench-${i++ % KEYS}`;
          const t = performance.now();
          try {
            if (op === "SET") await driver.set(key, value);
            else await driver.get(key);
            latencies.push(performance.now() - t);
          } catch {
            errors++;
          }
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    results.push({
      op,
      clients: drivers.length,
      opsPerSecond: latencies.length / elapsed,
      p50Ms: pct(0.5),
      p99Ms: pct(0.99),
      errors,
    });
  }
  return results;
}

/** Drivers for a Sandstore key-value cluster: SETs go to the leader, GETs spread over nodes. */
export async function sandstoreDrivers(
  seeds: readonly string[],
  clients: number,
): Promise<KvDriver[]> {
  const probe = await kvRequest(seeds, "GET bench-probe");
  if (probe.startsWith("ERR")) throw new Error(`cluster at ${seeds.join(",")} answered ${probe}`);
  // Ask one node at a time (kvRequest would follow the redirect for us and hide the leader).
  let leader = seeds[0]!;
  for (let hops = 0; ; hops++) {
    const connection = await KvConnection.open(leader);
    const reply = await connection.request("SET bench-probe x");
    connection.close();
    const redirect = /^ERR NOT_LEADER (\S+)$/.exec(reply);
    if (!redirect) break;
    if (hops > 5) throw new Error("no stable leader to send writes to");
    leader = redirect[1]!;
  }
  return Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const writer = await KvConnection.open(leader);
      const reader = await KvConnection.open(seeds[i % seeds.length]!);
      const expect = (reply: string, ok: (r: string) => boolean) => {
        if (!ok(reply)) throw new Error(reply);
        return reply;
      };
      return {
        set: async (key, value) => {
          expect(await writer.request(`SET ${key} ${value}`), (r) => r === "OK");
        },
        get: async (key) => {
          const reply = expect(
            await reader.request(`GET ${key}`),
            (r) => r === "NOT_FOUND" || r.startsWith("VALUE "),
          );
          return reply === "NOT_FOUND" ? undefined : reply.slice(6);
        },
        close: async () => {
          writer.close();
          reader.close();
        },
      } satisfies KvDriver;
    }),
  );
}

/** Drivers for etcd: one etcd3 client (its own connection) per client, linearizable gets. */
export async function etcdDrivers(
  endpoints: readonly string[],
  clients: number,
): Promise<KvDriver[]> {
  const { Etcd3 } = await import("etcd3");
  return Array.from({ length: clients }, () => {
    const client = new Etcd3({ hosts: endpoints.map((e) => `http://${e}`) });
    return {
      set: async (key, value) => {
        await client.put(key).value(value);
      },
      get: async (key) => (await client.get(key).string()) ?? undefined,
      close: async () => client.close(),
    } satisfies KvDriver;
  });
}

/** One result as a table row. */
export function formatRow(system: string, r: PhaseResult): string {
  return `${system.padEnd(10)} ${r.op.padEnd(4)} ${String(r.clients).padStart(7)} ${r.opsPerSecond.toFixed(0).padStart(10)} ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)} ${String(r.errors).padStart(6)}`;
}

export const TABLE_HEADER = `${"system".padEnd(10)} ${"op".padEnd(4)} ${"clients".padStart(7)} ${"ops/s".padStart(10)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"errors".padStart(6)}`;
