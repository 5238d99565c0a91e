/**
 * Encoding of membership changes inside log entries: one type byte, then the node id in UTF-8.
 */
import type { ConfChange, ConfState, NodeId } from "./types.ts";

const CODES = { addLearner: 1, promote: 2, remove: 3 } as const;
const TYPES = ["", "addLearner", "promote", "remove"] as const;

export function encodeConfChange(change: ConfChange): Uint8Array {
  const id = new TextEncoder().encode(change.node);
  const out = new Uint8Array(1 + id.length);
  out[0] = CODES[change.type];
  out.set(id, 1);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const type = TYPES[data[0] ?? 0];
  if (!type) throw new Error(`bad membership change entry (type byte ${data[0]})`);
  return { type, node: new TextDecoder().decode(data.subarray(1)) };
}

/** The configuration after `change`; changes that do not apply leave it as it is. */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  const without = (ids: readonly NodeId[]) => ids.filter((id) => id !== change.node);
  switch (change.type) {
    case "addLearner":
      if (conf.voters.includes(change.node) || conf.learners.includes(change.node)) return conf;
      return { voters: [...conf.voters], learners: [...conf.learners, change.node].sort() };
    case "promote":
      if (!conf.learners.includes(change.node)) return conf;
      return { voters: [...conf.voters, change.node].sort(), learners: without(conf.learners) };
    case "remove":
      return { voters: without(conf.voters), learners: without(conf.learners) };
  }
}
