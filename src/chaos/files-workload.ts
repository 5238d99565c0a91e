/**
 * The files workload: clients of the SDK doing create, write at offsets, read ranges, rename
 * and unlink on a few files of a hyperconverged cluster, and the file model it is checked
 * against.
 *
 * Each key is one file with two names, `/fK` and `/fK.r`, so rename stays within a key and
 * keys stay independent for the checker. Writes and reads stay inside one chunk slot (the
 * unit a commit makes atomic), in a small window at the start of the first two slots.
 *
 * A write or read opens a file and then acts on the inode it opened, so it spans two moments;
 * a rename or unlink landing between them would make the name-based model wrong. The
 * workload therefore never runs a rename or unlink of a key while a read or write of the
 * same key is in flight (a per-key lock), which keeps each operation atomic as the model sees
 * it.
 */
import { connect, O_CREAT, O_RDONLY, O_WRONLY, SandstoreError } from "../index.ts";
import { pick } from "../raft/core/random.ts";
import type { HistoryOperation, Model, State } from "../raft/testing/linearizability.ts";
import type { ChaosCluster } from "./chaos-cluster.ts";
import type { History } from "./history.ts";

export const FILE_KEYS = ["0", "1", "2"];
/** Where writes and reads may fall: `WINDOW` bytes at the start of slots 0 and 1. */
const WINDOW = 64;
/** How long the SDK keeps retrying one call of an operation. */
const RETRY_FOR_MS = 3000;

/** The model's view of one key: the contents under each name, or null for no file. */
interface FilePair {
  a: string | null;
  b: string | null;
}

interface Params {
  name?: "a" | "b";
  offset?: number;
  length?: number;
  data?: string;
}

const decode = (state: State): FilePair =>
  state === null ? { a: null, b: null } : (JSON.parse(state) as FilePair);
const encode = (pair: FilePair): State => JSON.stringify(pair);

function writeInto(content: string, offset: number, data: string): string {
  const padded = content.length < offset ? content + "\0".repeat(offset - content.length) : content;
  return padded.slice(0, offset) + data + padded.slice(offset + data.length);
}

/** What a read of `length` bytes at `offset` returns: fewer at the end, none past it. */
function readFrom(content: string, offset: number, length: number): string {
  return content.slice(offset, offset + length);
}

/**
 * The model: a pair of names per key, each naming a file's contents or nothing. A mutation
 * whose outcome is unknown (`result` undefined) did whatever it would have done: it fails
 * ENOENT where its file is missing, and applies otherwise.
 */
export const fileModel: Model = {
  step(state, op: HistoryOperation) {
    const pair = decode(state);
    const p = JSON.parse(op.value) as Params;
    const unknown = op.result === undefined;
    /** The state when the operation's file is missing: only an ENOENT (or unknown) fits. */
    const missing = () => (unknown || op.result === "ENOENT" ? state : undefined);
    const applied = (next: FilePair) => (unknown || op.result === "ok" ? encode(next) : undefined);
    switch (op.kind) {
      case "create":
        return applied({ ...pair, a: pair.a ?? "" });
      case "write":
        if (pair.a === null) return missing();
        return applied({ ...pair, a: writeInto(pair.a, p.offset!, p.data!) });
      case "read": {
        const content = pair[p.name!];
        if (content === null) return missing();
        return op.result === `=${readFrom(content, p.offset!, p.length!)}` ? state : undefined;
      }
      case "rename": {
        const from = p.name!;
        if (pair[from] === null) return missing();
        return applied(from === "a" ? { a: null, b: pair.a } : { a: pair.b, b: null });
      }
      case "unlink": {
        const name = p.name!;
        if (pair[name] === null) return missing();
        return applied({ ...pair, [name]: null });
      }
      default:
        return undefined;
    }
  },
  isRead: (op) => op.kind === "read",
};

const pathOf = (key: string, name: "a" | "b") => (name === "a" ? `/f${key}` : `/f${key}.r`);

/** A reader-writer lock per key: I/O shares it, renames and unlinks hold it alone. */
class KeyLock {
  private readers = 0;
  private writer = false;
  private readonly waiting: Array<() => void> = [];

  async run<T>(exclusive: boolean, body: () => Promise<T>): Promise<T> {
    while (exclusive ? this.writer || this.readers > 0 : this.writer)
      await new Promise<void>((done) => this.waiting.push(done));
    if (exclusive) this.writer = true;
    else this.readers++;
    try {
      return await body();
    } finally {
      if (exclusive) this.writer = false;
      else this.readers--;
      for (const wake of this.waiting.splice(0)) wake();
    }
  }
}

/** Runs `clients` SDK clients until `until()` is false. */
export async function runFilesWorkload(
  cluster: ChaosCluster,
  history: History,
  clients: number,
  chunkSize: number,
  random: () => number,
  until: () => boolean,
): Promise<void> {
  const locks = new Map(FILE_KEYS.map((key) => [key, new KeyLock()]));
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      const sdk = connect(cluster.clientAddresses(), { retryForMs: RETRY_FOR_MS });
      try {
        while (until() && !history.isFull) {
          const key = pick(random, FILE_KEYS);
          const roll = random();
          const kind =
            roll < 0.1
              ? "create"
              : roll < 0.45
                ? "write"
                : roll < 0.8
                  ? "read"
                  : roll < 0.92
                    ? "rename"
                    : "unlink";
          const slot = random() < 0.5 ? 0 : chunkSize;
          const offset = slot + Math.floor(random() * WINDOW);
          const params: Params = {
            name: random() < 0.7 ? "a" : "b",
            offset,
            length: 1 + Math.floor(random() * WINDOW),
            data: Array.from({ length: 1 + Math.floor(random() * 16) }, () =>
              String.fromCharCode(97 + Math.floor(random() * 26)),
            ).join(""),
          };
          const exclusive = kind === "rename" || kind === "unlink";
          await locks
            .get(key)!
            .run(exclusive, () => fileOperation(sdk, history, client, key, kind, params));
        }
      } finally {
        await sdk.closeClient();
      }
    }),
  );
}

type Sdk = ReturnType<typeof connect>;

/** One operation through the SDK, recorded. */
export async function fileOperation(
  sdk: Sdk,
  history: History,
  client: number,
  key: string,
  kind: string,
  params: Params,
): Promise<void> {
  const op = history.invoke(client, key, kind, JSON.stringify(params));
  try {
    const result = await perform(sdk, key, kind, params);
    history.complete(op, "ok", result, result.slice(0, 80));
  } catch (error) {
    if (error instanceof SandstoreError && error.code === "ENOENT") {
      history.complete(op, "ok", "ENOENT", error.message);
      return;
    }
    // Anything else: a read has no effect; a mutation may have happened.
    const detail = error instanceof Error ? error.message : String(error);
    history.complete(op, kind === "read" ? "fail" : "unknown", null, detail);
  }
}

async function perform(sdk: Sdk, key: string, kind: string, p: Params): Promise<string> {
  switch (kind) {
    case "create": {
      const fd = await sdk.open(pathOf(key, "a"), O_CREAT | O_WRONLY);
      await sdk.close(fd);
      return "ok";
    }
    case "write": {
      const fd = await sdk.open(pathOf(key, "a"), O_WRONLY);
      await sdk.pwrite(fd, Buffer.from(p.data!, "latin1"), p.offset!);
      await sdk.close(fd);
      return "ok";
    }
    case "read": {
      const fd = await sdk.open(pathOf(key, p.name!), O_RDONLY);
      try {
        return `=${(await sdk.pread(fd, p.length!, p.offset!)).toString("latin1")}`;
      } finally {
        await sdk.close(fd);
      }
    }
    case "rename":
      await sdk.rename(pathOf(key, p.name!), pathOf(key, p.name === "a" ? "b" : "a"));
      return "ok";
    case "unlink":
      await sdk.unlink(pathOf(key, p.name!));
      return "ok";
    default:
      throw new RangeError(`no file operation ${kind}`);
  }
}
