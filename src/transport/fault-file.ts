/**
 * A fault layer for tests and chaos runs: a JSON file `{ "drop": ["n2", "n3"] }` naming the
 * peers this node can neither hear nor reach. Read every `intervalMs`; a missing or malformed
 * file means no faults. Only a node started with `--fault-file` has one.
 */
import { readFile } from "node:fs/promises";

export interface FaultLayer {
  /** True when traffic to or from `peer` is to be dropped. */
  isCut(peer: string): boolean;
  close(): void;
}

export function watchFaultFile(path: string, intervalMs = 50): FaultLayer {
  let cut = new Set<string>();
  const refresh = async () => {
    try {
      const parsed: unknown = JSON.parse(await readFile(path, "utf8"));
      const drop = (parsed as { drop?: unknown }).drop;
      cut = new Set(
        Array.isArray(drop) ? drop.filter((p): p is string => typeof p === "string") : [],
      );
    } catch {
      cut = new Set();
    }
  };
  void refresh();
  const timer = setInterval(refresh, intervalMs);
  timer.unref();
  return { isCut: (peer) => cut.has(peer), close: () => clearInterval(timer) };
}
