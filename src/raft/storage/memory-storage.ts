/**
 * Raft storage in memory for simulation. Writes are buffered until `sync`, as a file's are
 * until fsync; `crash` throws the unsynced writes away, or keeps a torn prefix of them, the way
 * a power cut treats a WAL. Synchronous, so a simulator can drive it step by step.
 */
import type { Entry, HardState, SnapshotMeta } from "../core/types.ts";

/** What survives a crash: the boot state of the node's next life. */
export interface DurableState {
  readonly hardState: HardState;
  readonly snapshot: SnapshotMeta;
  readonly snapshotData: Uint8Array;
  readonly entries: readonly Entry[];
}

type Write =
  | { readonly kind: "hardState"; readonly hardState: HardState }
  | { readonly kind: "entries"; readonly entries: readonly Entry[] }
  | { readonly kind: "snapshot"; readonly meta: SnapshotMeta; readonly data: Uint8Array };

export class MemoryStorage {
  private durable: DurableState;
  private unsynced: Write[] = [];

  constructor(initial: DurableState) {
    this.durable = initial;
  }

  /** The state as the next boot would find it, if the node crashed now after a sync. */
  state(): DurableState {
    return this.durable;
  }

  setHardState(hardState: HardState): void {
    this.unsynced.push({ kind: "hardState", hardState });
  }

  /** Stores entries, replacing any at or after the first one's index. */
  appendEntries(entries: readonly Entry[]): void {
    if (entries.length > 0) this.unsynced.push({ kind: "entries", entries });
  }

  /** Stores a whole snapshot and drops the entries it covers. */
  saveSnapshot(meta: SnapshotMeta, data: Uint8Array): void {
    this.unsynced.push({ kind: "snapshot", meta, data });
  }

  /** Makes every buffered write durable, in order. */
  sync(): void {
    for (const write of this.unsynced) this.durable = applyWrite(this.durable, write);
    this.unsynced = [];
  }

  /**
   * A crash: of the unsynced writes, a prefix chosen by `random` survives, and the last entry
   * batch in it may be torn (a prefix of its entries kept, as a torn WAL tail is cut back to
   * the last whole record). Everything synced survives.
   */
  crash(random: () => number): void {
    const keep = Math.floor(random() * (this.unsynced.length + 1));
    for (const [i, write] of this.unsynced.slice(0, keep).entries()) {
      const torn = i === keep - 1 && write.kind === "entries" && random() < 0.5;
      const kept = torn
        ? {
            kind: "entries" as const,
            entries: write.entries.slice(0, Math.floor(random() * write.entries.length)),
          }
        : write;
      this.durable = applyWrite(this.durable, kept);
    }
    this.unsynced = [];
  }

  /** Drops entries up to a snapshot the node took itself (the log was compacted). */
  compact(meta: SnapshotMeta, data: Uint8Array): void {
    this.saveSnapshot(meta, data);
  }
}

function applyWrite(state: DurableState, write: Write): DurableState {
  switch (write.kind) {
    case "hardState":
      return { ...state, hardState: write.hardState };
    case "entries": {
      if (write.entries.length === 0) return state;
      const first = write.entries[0]!.index;
      const kept = state.entries.filter((entry) => entry.index < first);
      if (first > state.snapshot.index + 1 + state.entries.length) {
        throw new Error(
          `gap in stored log: have up to ${state.snapshot.index + state.entries.length}, got ${first}`,
        );
      }
      return { ...state, entries: [...kept, ...write.entries] };
    }
    case "snapshot": {
      if (write.meta.index <= state.snapshot.index) return state;
      const kept = state.entries.filter((entry) => entry.index > write.meta.index);
      const matches = state.entries.some(
        (e) => e.index === write.meta.index && e.term === write.meta.term,
      );
      return {
        ...state,
        snapshot: write.meta,
        snapshotData: write.data,
        entries: matches ? kept : [],
        hardState: {
          ...state.hardState,
          commit: Math.max(state.hardState.commit, write.meta.index),
        },
      };
    }
  }
}
