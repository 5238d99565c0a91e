/**
 * The key-value state machine on LMDB. Each batch of committed entries is applied in one
 * transaction together with the applied index, so replay after a crash is a no-op for what
 * was applied. Snapshots are written to a temporary file and streamed from it; a restore
 * replaces the whole store in one transaction.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type Database, open, type RootDatabase } from "lmdb";
import { stageSnapshot } from "../common/snapshot-staging.ts";
import type { Entry, SnapshotMeta, StateMachine } from "../raft/node.ts";
import { decodeKvCommand } from "./kv-command.ts";

const APPLIED = "applied";

export class LmdbKvStateMachine implements StateMachine {
  private readonly root: RootDatabase;
  private readonly data: Database<Buffer, Buffer>;
  private readonly meta: Database<number, string>;
  private applied: number;

  /** Opens (creating) the store under `dir`; one process per directory. */
  constructor(private readonly dir: string) {
    this.root = open({
      path: join(dir, "kv"),
      maxDbs: 4,
      mapSize: 64 * 1024 ** 3,
      compression: false,
    });
    this.data = this.root.openDB<Buffer, Buffer>({
      name: "data",
      keyEncoding: "binary",
      encoding: "binary",
    });
    this.meta = this.root.openDB<number, string>({ name: "meta" });
    this.applied = this.meta.get(APPLIED) ?? 0;
  }

  apply(entries: readonly Entry[]): unknown[] {
    return this.root.transactionSync(() => {
      const results = entries.map((entry) => {
        if (entry.index <= this.applied) return undefined;
        this.applied = entry.index;
        if (entry.type !== 0 || entry.data.length === 0) return undefined;
        const command = decodeKvCommand(entry.data);
        if (command.op === "set") this.data.putSync(command.key, command.value);
        else this.data.removeSync(command.key);
        return "OK";
      });
      this.meta.putSync(APPLIED, this.applied);
      return results;
    });
  }

  appliedIndex(): number {
    return this.applied;
  }

  /** The value of `key`, as of the applied index. */
  get(key: Buffer): Buffer | undefined {
    return this.data.getBinary(key) ?? undefined;
  }

  /**
   * SHA-256 (hex) of every key and value in key order, as of the applied index: equal on
   * every replica at the same index. Reads the whole store; for checks, not for hot paths.
   */
  stateHash(): string {
    const hash = createHash("sha256");
    const length = Buffer.alloc(4);
    for (const { key, value } of this.data.getRange({ snapshot: true })) {
      length.writeUInt32BE(key.length);
      hash.update(length).update(key);
      length.writeUInt32BE(value.length);
      hash.update(length).update(value);
    }
    return hash.digest("hex");
  }

  /** Number of keys (for status). */
  count(): number {
    return this.data.getCount();
  }

  async snapshot() {
    // Records `u32 key length | key | u32 value length | value`, from one consistent read;
    // the Raft loop applies nothing while a snapshot is taken.
    const index = this.applied;
    const data = this.data;
    const records = (function* () {
      for (const { key, value } of data.getRange({ snapshot: true })) {
        const record = Buffer.allocUnsafe(8 + key.length + value.length);
        record.writeUInt32BE(key.length, 0);
        key.copy(record, 4);
        record.writeUInt32BE(value.length, 4 + key.length);
        value.copy(record, 8 + key.length);
        yield record;
      }
    })();
    return { index, ...(await stageSnapshot(this.dir, `kv-snapshot-${index}`, records)) };
  }

  async restore(
    meta: SnapshotMeta,
    read: (offset: number, length: number) => Promise<Uint8Array>,
  ): Promise<void> {
    const records: Array<[Buffer, Buffer]> = [];
    let pending = Buffer.alloc(0);
    for (let offset = 0; offset < meta.size; offset += 1024 * 1024) {
      const piece = await read(offset, Math.min(1024 * 1024, meta.size - offset));
      pending = pending.length === 0 ? Buffer.from(piece) : Buffer.concat([pending, piece]);
      let at = 0;
      while (pending.length - at >= 4) {
        const keyLength = pending.readUInt32BE(at);
        if (pending.length - at < 8 + keyLength) break;
        const valueLength = pending.readUInt32BE(at + 4 + keyLength);
        const end = at + 8 + keyLength + valueLength;
        if (pending.length < end) break;
        records.push([
          Buffer.from(pending.subarray(at + 4, at + 4 + keyLength)),
          Buffer.from(pending.subarray(at + 8 + keyLength, end)),
        ]);
        at = end;
      }
      pending = pending.subarray(at);
    }
    if (pending.length > 0) throw new Error(`snapshot at ${meta.index} ends inside a record`);
    this.root.transactionSync(() => {
      for (const { key } of this.data.getRange()) this.data.removeSync(key);
      for (const [key, value] of records) this.data.putSync(key, value);
      this.meta.putSync(APPLIED, meta.index);
    });
    this.applied = meta.index;
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
