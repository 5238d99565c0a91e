/**
 * A fault layer for tests and chaos runs: a JSON file naming the peers this node cannot
 * exchange messages with. `drop` cuts both ways; `dropFrom` only what this node hears from a
 * peer, `dropTo` only what it sends (one-way partitions):
 *
 *   { "drop": ["n2"], "dropFrom": ["n3"], "dropTo": [] }
 *
 * Read every `intervalMs`; a missing or malformed file means no faults. Only a node started
 * with `--fault-file` has one.
 */
import { readFile } from "node:fs/promises";

export interface FaultLayer {
  /** True when messages from `peer` are to be dropped on arrival. */
  dropsFrom(peer: string): boolean;
  /** True when messages to `peer` are to be dropped before sending. */
  dropsTo(peer: string): boolean;
  close(): void;
}

/** The contents of a fault file. */
export interface Faults {
  readonly drop?: readonly string[];
  readonly dropFrom?: readonly string[];
  readonly dropTo?: readonly string[];
}

function names(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((p): p is string => typeof p === "string") : [];
}

export function watchFaultFile(path: string, intervalMs = 50): FaultLayer {
  let from = new Set<string>();
  let to = new Set<string>();
  const refresh = async () => {
    try {
      const parsed = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
      const both = names(parsed.drop);
      from = new Set([...both, ...names(parsed.dropFrom)]);
      to = new Set([...both, ...names(parsed.dropTo)]);
    } catch {
      from = new Set();
      to = new Set();
    }
  };
  void refresh();
  const timer = setInterval(refresh, intervalMs);
  timer.unref();
  return {
    dropsFrom: (peer) => from.has(peer),
    dropsTo: (peer) => to.has(peer),
    close: () => clearInterval(timer),
  };
}
