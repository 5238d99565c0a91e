/**
 * The `replicated` DataPlane: writes a new chunk version per slot through the transaction
 * coordinator and reads from the first replica that returns verified bytes.
 */
import { crc32c } from "@node-rs/crc32";
import { fsError, SandstoreError } from "../common/errors.ts";
import type { ControlPlane, ReadOptions } from "../control/control-plane.ts";
import type { TransactionCoordinator } from "../control/transaction-coordinator.ts";
import type { Caller, ClientSession } from "../gen/sandstore/v1/metadata.ts";
import {
  type ChunkSlot,
  type Inode,
  isInlineSlot,
  MAX_INLINE_SLOT_BYTES,
} from "../metadata/metadata-store.ts";
import { type DataPlane, MAX_DATA_PIECE } from "./data-plane.ts";
import { type ReplicaAccess, readVerifiedChunk, rewriteCopy } from "./replica-access.ts";

/** Lost races to retry before giving up with EAGAIN: each retry means another writer won. */
const MAX_WRITE_CONFLICTS = 16;
/**
 * Pieces of one read fetched ahead of the one being sent: a remote replica's round trip
 * overlaps the sending of earlier pieces. Bounds a read's memory to this many pieces.
 */
const READ_PIECES_AHEAD = 4;
/**
 * Read repairs running at once; a bad copy found while this many run is left to the next
 * read or the leader's repair pass, so a burst of damage cannot pile up work.
 */
const MAX_READ_REPAIRS = 4;

export class ReplicatedDataPlane implements DataPlane {
  private readonly inFlight = new Set<string>();
  /** Copies being rewritten by read repair, as `node/chunk`. */
  private readonly repairing = new Set<string>();
  /** Copies read repair rewrote since start. */
  readRepairsTotal = 0;

  constructor(
    private readonly control: ControlPlane,
    private readonly coordinator: TransactionCoordinator,
    private readonly replicas: ReplicaAccess,
    private readonly onError: (error: unknown) => void = () => {},
    /**
     * Whether small writes may be held in the metadata (see MAX_INLINE_SLOT_BYTES). False
     * where no file byte may pass through a metadata server (a disaggregated client's plane):
     * every write is then a chunk on the data servers.
     */
    private readonly inlineWrites = true,
  ) {}

  async writeRange(
    inodeId: number,
    slotIndex: number,
    offsetInSlot: number,
    data: Buffer,
    path: string,
    session?: ClientSession,
    caller?: Caller,
  ): Promise<Inode> {
    const { chunkSize } = await this.control.settings();
    if (offsetInSlot < 0 || offsetInSlot + data.length > chunkSize) {
      throw fsError("EINVAL", path, "write range leaves its chunk slot");
    }
    // Held in the metadata when it fits there (see MAX_INLINE_SLOT_BYTES); else a chunk. A
    // write past the limit is not offered: it could not be held, and would cross for nothing.
    if (this.inlineWrites && offsetInSlot + data.length <= MAX_INLINE_SLOT_BYTES) {
      const inline = await this.control.writeInline(
        inodeId,
        slotIndex,
        offsetInSlot,
        data,
        path,
        session,
        caller,
      );
      if (inline) return inline;
    }
    const minFileSize = slotIndex * chunkSize + offsetInSlot + data.length;
    for (let attempt = 0; attempt < MAX_WRITE_CONFLICTS; attempt++) {
      const intent = await this.control.prepareWrite(inodeId, slotIndex, path, session, caller);
      const chunk = await this.merge(intent.current, offsetInSlot, data, path);
      this.inFlight.add(intent.chunkId);
      try {
        const outcome = await this.coordinator.execute(intent, chunk, minFileSize);
        if (outcome.kind === "committed") return outcome.inode;
      } finally {
        this.inFlight.delete(intent.chunkId);
      }
    }
    throw fsError("EAGAIN", path, "too many concurrent writers of one chunk");
  }

  /** The new chunk: the slot's valid old bytes with `data` laid over them at `offset`. */
  private async merge(
    current: ChunkSlot | undefined,
    offset: number,
    data: Buffer,
    path: string,
  ): Promise<Buffer> {
    const oldLength = current?.length ?? 0;
    if (offset === 0 && data.length >= oldLength) return data;
    const chunk = Buffer.alloc(Math.max(oldLength, offset + data.length));
    if (current && oldLength > 0) {
      // Only the bytes the new data does not cover need reading.
      if (offset > 0)
        (await this.readSlot(current, 0, Math.min(offset, oldLength), path)).copy(chunk, 0);
      const tail = offset + data.length;
      if (tail < oldLength)
        (await this.readSlot(current, tail, oldLength - tail, path)).copy(chunk, tail);
    }
    data.copy(chunk, offset);
    return chunk;
  }

  async *readRange(
    inodeId: number,
    offset: number,
    length: number,
    path: string,
    options?: ReadOptions,
  ): AsyncIterable<Buffer> {
    const plan = await this.control.resolveRead(inodeId, offset, length, path, options);
    const { chunkSize } = plan;
    const end = Math.min(plan.inode.size, offset + length);
    const bySlot = new Map(plan.slots.map((slot) => [slot.index, slot]));
    const pieceAt = async (position: number, take: number): Promise<Buffer> => {
      const slotIndex = Math.floor(position / chunkSize);
      const inSlot = position - slotIndex * chunkSize;
      const slot = bySlot.get(slotIndex);
      if (!slot || inSlot >= slot.length) return Buffer.alloc(take);
      const bytes = await this.readSlot(slot, inSlot, Math.min(take, slot.length - inSlot), path);
      if (bytes.length === take) return bytes;
      // The slot's chunk ends inside this piece: the rest, up to the file's size, is a hole.
      const piece = Buffer.alloc(take);
      bytes.copy(piece, 0);
      return piece;
    };
    const ahead: Array<Promise<Buffer>> = [];
    let next = offset;
    const fetchAhead = () => {
      while (ahead.length < READ_PIECES_AHEAD && next < end) {
        const inSlot = next % chunkSize;
        const take = Math.min(end - next, chunkSize - inSlot, MAX_DATA_PIECE);
        const piece = pieceAt(next, take);
        // A reader that stops early leaves pieces unawaited; their failures are not news.
        piece.catch(() => {});
        ahead.push(piece);
        next += take;
      }
    };
    fetchAhead();
    while (ahead.length > 0) {
      const piece = await ahead.shift()!;
      fetchAhead();
      yield piece;
    }
  }

  private repairCopies(slot: ChunkSlot, bad: readonly string[], good: string): void {
    for (const nodeId of bad) {
      const key = `${nodeId}/${slot.chunkId}`;
      if (this.repairing.has(key) || this.repairing.size >= MAX_READ_REPAIRS) continue;
      this.repairing.add(key);
      this.control
        .settings()
        .then(({ chunkSize }) => readVerifiedChunk(this.replicas, slot, [good], chunkSize))
        .then((bytes) => rewriteCopy(this.replicas, nodeId, slot.chunkId, bytes))
        .then(
          () => this.readRepairsTotal++,
          (error) => this.onError(error),
        )
        .finally(() => this.repairing.delete(key));
    }
  }

  isWriteInFlight(chunkId: string): boolean {
    return this.inFlight.has(chunkId);
  }

  /**
   * Reads a range of a slot's chunk from its replicas in order, failing over on any error.
   * Copies found damaged or missing on the way are rewritten from a good one in the background.
   */
  private async readSlot(
    slot: ChunkSlot,
    offset: number,
    length: number,
    path: string,
  ): Promise<Buffer> {
    if (isInlineSlot(slot)) return inlineRange(slot, offset, length, path);
    let lastError: unknown;
    const bad: string[] = [];
    const local = this.replicas.localNodeId;
    const nearestFirst = slot.replicas.includes(local ?? "")
      ? [local!, ...slot.replicas.filter((nodeId) => nodeId !== local)]
      : slot.replicas;
    for (const nodeId of nearestFirst) {
      try {
        const bytes = await this.replicas.readChunk(nodeId, slot.chunkId, offset, length);
        if (bytes.length === length) {
          if (bad.length > 0) this.repairCopies(slot, bad, nodeId);
          return bytes;
        }
        bad.push(nodeId);
        lastError = fsError(
          "EIO",
          `chunk ${slot.chunkId}`,
          `replica ${nodeId} returned ${bytes.length} of ${length} bytes`,
        );
      } catch (error) {
        lastError = error;
        // EIO: the copy failed its checksum; ENOENT: it is gone. Both are worth a rewrite.
        if (error instanceof SandstoreError && (error.code === "EIO" || error.code === "ENOENT"))
          bad.push(nodeId);
      }
    }
    const detail = lastError instanceof SandstoreError ? lastError.message : String(lastError);
    throw fsError("EIO", path, `no replica returned chunk ${slot.chunkId}: ${detail}`);
  }
}

/**
 * Bytes [offset, offset + length) of an inline slot, within its length. EIO when the bytes
 * fail their checksum: the metadata store's copy was damaged at rest.
 */
function inlineRange(slot: ChunkSlot, offset: number, length: number, path: string): Buffer {
  const held = slot.inlineData ?? Buffer.alloc(0);
  if (crc32c(held) !== slot.checksum)
    throw fsError("EIO", path, `slot ${slot.index}'s inline bytes fail their checksum`);
  const bytes = held.subarray(offset, offset + length);
  // The namespace keeps an inline slot's bytes exactly `length` long.
  if (bytes.length !== length)
    throw new Error(`inline slot ${slot.index} holds ${bytes.length} of ${length} bytes asked`);
  return bytes;
}
