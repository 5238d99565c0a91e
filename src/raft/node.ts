/**
 * `RaftNode`: the driver around the pure core. It owns the loop (persist, send, apply,
 * advance), the timers and the I/O; the core owns every decision.
 *
 * Group commit: inputs (messages, proposals, ticks) that arrive while a batch is being written
 * queue up, and the next turn of the loop steps them all into the core and persists them with
 * one fsync. Proposals resolve with their apply result, or fail with a typed error.
 */
import { Raft, type RaftConfig } from "./core/raft.ts";
import { seededRandom } from "./core/random.ts";
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  Ready,
  SnapshotMeta,
} from "./core/types.ts";
import { EntryType } from "./core/types.ts";
import type { SnapshotWriter, StoredState } from "./storage/disk-storage.ts";

export type { ConfChange, ConfState, Entry, Message, NodeId, SnapshotMeta };

/** This node cannot order proposals; `leaderAddress` is where the leader is, when known. */
export class NotLeaderError extends Error {
  override readonly name = "NotLeaderError";
  constructor(
    readonly leaderId: NodeId,
    readonly leaderAddress: string,
  ) {
    super(
      leaderId
        ? `not the leader; the leader is ${leaderId}${leaderAddress ? ` at ${leaderAddress}` : ""}`
        : "no leader known",
    );
  }
}

/** The outcome is unknown: the proposal or read did not complete before its deadline. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

/** The node stopped before the proposal or read completed. */
export class StoppedError extends Error {
  override readonly name = "StoppedError";
}

/**
 * The leader refused a membership change: another is still pending, or the learner to promote
 * has not caught up. Nothing was proposed; asking again later may succeed.
 */
export class MembershipChangeRefusedError extends Error {
  override readonly name = "MembershipChangeRefusedError";
  constructor(readonly reason: "confChangePending" | "notCaughtUp") {
    super(
      reason === "notCaughtUp"
        ? "membership change refused: the learner has not caught up with the commit index"
        : "membership change refused: another change is still pending",
    );
  }
}

/** The bounded queue of proposals is full: try again later. */
export class OverloadedError extends Error {
  override readonly name = "OverloadedError";
}

/** What the replicated state machine provides. Applying must be deterministic. */
export interface StateMachine {
  /**
   * Applies committed entries in log order and returns one result per entry. Entries at or
   * below `appliedIndex()` may be delivered again after a restart and must change nothing
   * (their results are ignored). No-op and membership entries are delivered too (for the
   * index); their data is not the application's.
   */
  apply(entries: readonly Entry[]): Promise<unknown[]> | unknown[];
  /** The index of the last entry whose effect is durable in the state machine. */
  appliedIndex(): number;
  /** A consistent snapshot at the applied index, streamed: its size is known in advance. */
  snapshot(): Promise<{ index: number; size: number; chunks: AsyncIterable<Uint8Array> }>;
  /** Replaces the whole state with the snapshot `meta`, reading it in pieces. */
  restore(
    meta: SnapshotMeta,
    read: (offset: number, length: number) => Promise<Uint8Array>,
  ): Promise<void>;
}

/** Where the node's log and snapshots live (DiskStorage, or a memory one in tests). */
export interface RaftStorage {
  open(): Promise<StoredState>;
  /** Durable when it resolves, unless `sync` is false (see DiskStorage.append). */
  append(
    entries: readonly Entry[],
    hardState: HardState | undefined,
    sync?: boolean,
  ): Promise<void>;
  snapshotMeta(): SnapshotMeta;
  beginSnapshot(meta: SnapshotMeta): Promise<SnapshotWriter>;
  readSnapshot(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * Ticks a read waits for the leader's answer before it is asked again: an election timeout's
 * worth, many heartbeat rounds, so a read is asked again only when its messages were lost.
 */
const READ_RESEND_TICKS = 10;

/** Carries messages between nodes: best effort, in any order, possibly lost. */
export interface RaftTransport {
  send(message: Message): void;
  /**
   * Where to deliver the messages that arrive for this node. The node calls it once, when it
   * starts; what arrives before is dropped, as a lost message, which Raft tolerates. So a
   * transport is built before its node and needs no reference to it.
   */
  receive(deliver: (message: Message) => void): void;
}

export interface RaftNodeOptions {
  readonly id: NodeId;
  readonly storage: RaftStorage;
  readonly transport: RaftTransport;
  readonly stateMachine: StateMachine;
  /** Address of each node, for NotLeaderError. */
  readonly addresses?: (id: NodeId) => string;
  /** Milliseconds per tick. Default 50. */
  readonly tickMs?: number;
  /** Ticks before campaigning (randomized up to double). Default 10. */
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Snapshot after this many entries applied since the last one. Default 10,000; 0 never. */
  readonly snapshotEntries?: number;
  /** Proposals waiting at once; more are refused with OverloadedError. Default 10,000. */
  readonly maxPendingProposals?: number;
  /** Default deadline of a proposal or read, ms. Default 10,000. */
  readonly timeoutMs?: number;
  /** Seed of the election-timeout randomness. Default: derived from the id and the clock. */
  readonly seed?: number;
  readonly core?: Partial<Omit<RaftConfig, "id" | "random" | "electionTicks" | "heartbeatTicks">>;
  /**
   * Called once at start when storage cut a damaged tail from the log (a torn last write):
   * the node's owner logs it, because the bytes are gone and an operator must be able to
   * tell which file lost them.
   */
  readonly onTornTail?: (segment: string, bytes: number) => void;
  /** Told of fsyncs, snapshots, leader changes and proposals as they happen (metrics). */
  readonly observer?: RaftObserver;
}

/**
 * What a node reports as it runs, for its owner's metrics; every callback is optional and
 * must not throw or block (it is called on the node's loop).
 */
export interface RaftObserver {
  /** One batch of entries and hard state made durable with an fsync; its wall time, seconds. */
  readonly onFsync?: (seconds: number) => void;
  /** One snapshot of the state machine written and committed to storage; seconds. */
  readonly onSnapshot?: (seconds: number) => void;
  /**
   * This node saw another leader (a new one, or one after none): `leader` is its id, `term`
   * the term it leads.
   */
  readonly onLeaderChange?: (leader: NodeId, term: number) => void;
  /** A proposal made here was committed and applied, or failed (refused, cut, timed out). */
  readonly onProposalSettled?: (outcome: "committed" | "failed") => void;
}

interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class RaftNode {
  private raft!: Raft;
  private started = false;
  private readonly inputs: Array<() => void> = [];
  private looping: Promise<void> | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private tickQueued = false;
  private stopped = false;
  private failure: Error | undefined;
  private readonly proposals = new Map<number, { term: number } & Waiter<unknown>>();
  private queuedProposals = 0;
  private readonly reads = new Map<string, Waiter<void>>();
  private readonly readsAwaitingLeader = new Set<string>();
  /**
   * Reads asked of a leader and not answered yet, with the tick they were asked at. The
   * request or its answer can be lost like any message (a peer restarting, a stream broken),
   * and nothing else would ask again: one unanswered for READ_RESEND_TICKS is asked again.
   */
  private readonly readsAskedAtTick = new Map<string, number>();
  private ticks = 0;
  private readonly readsAtIndex: Array<{ index: number; waiter: Waiter<void> }> = [];
  private nextRead = 0;
  private incoming: SnapshotWriter | undefined;
  private snapshotting = false;
  private persisted: HardState = { term: 0, vote: "", commit: 0 };
  /** Counters for benchmarks and status. */
  readonly stats = { fsyncs: 0, entriesPersisted: 0, proposals: 0, batches: 0 };
  /** The leader as of the last batch, to tell the observer when it changes. */
  private lastLeader: NodeId = "";

  constructor(private readonly o: RaftNodeOptions) {}

  /** Opens storage, restores the state machine if it is behind the snapshot, starts ticking. */
  async start(): Promise<void> {
    const state = await this.o.storage.open();
    if (state.truncatedBytes > 0)
      this.o.onTornTail?.(state.truncatedSegment ?? "", state.truncatedBytes);
    this.persisted = state.hardState;
    if (this.o.stateMachine.appliedIndex() < state.snapshot.index) {
      await this.o.stateMachine.restore(state.snapshot, (offset, length) =>
        this.o.storage.readSnapshot(offset, length),
      );
    }
    const seed =
      this.o.seed ??
      Date.now() ^ [...this.o.id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7);
    this.raft = new Raft(
      {
        ...this.o.core,
        id: this.o.id,
        electionTicks: this.o.electionTicks ?? 10,
        heartbeatTicks: this.o.heartbeatTicks ?? 1,
        random: seededRandom(seed),
      },
      state,
    );
    // At most one tick waits in the queue: a burst of ticks stepped at once after a slow batch
    // would run two check-quorum rounds with no answers processed between them, and depose a
    // healthy leader. Under load the clock slows instead, which only delays elections.
    this.started = true;
    this.o.transport.receive((message) => this.receive(message));
    this.ticker = setInterval(() => {
      if (this.tickQueued) return;
      this.tickQueued = true;
      this.enqueue(() => {
        this.tickQueued = false;
        this.ticks++;
        this.raft.tick();
        if (this.readsAskedAtTick.size > 0) this.askUnansweredReadsAgain();
      });
    }, this.o.tickMs ?? 50);
    this.ticker.unref();
    this.enqueue(() => {});
  }

  /** Hands a message from another node to the core. */
  receive(message: Message): void {
    // Before start() has built the core there is nothing to step: Raft resends what matters.
    if (message.to !== this.o.id || this.stopped || !this.started) return;
    this.enqueue(() => this.raft.step(message));
  }

  /**
   * Proposes `data`. Resolves with the state machine's result for it once it is committed and
   * applied here. Rejects with NotLeaderError, OverloadedError, TimeoutError (outcome unknown)
   * or StoppedError.
   */
  propose(data: Uint8Array, timeoutMs = this.o.timeoutMs ?? 10_000): Promise<unknown> {
    return this.submit(() => this.raft.propose(data), timeoutMs);
  }

  /** Proposes a membership change; resolves once it is applied. */
  proposeMembershipChange(
    change: ConfChange,
    timeoutMs = this.o.timeoutMs ?? 10_000,
  ): Promise<unknown> {
    return this.submit(() => this.raft.proposeMembershipChange(change), timeoutMs);
  }

  private submit(propose: () => ReturnType<Raft["propose"]>, timeoutMs: number): Promise<unknown> {
    const settled = this.submitUnobserved(propose, timeoutMs);
    const observe = this.o.observer?.onProposalSettled;
    if (!observe) return settled;
    return settled.then(
      (value) => {
        observe("committed");
        return value;
      },
      (error: unknown) => {
        observe("failed");
        throw error;
      },
    );
  }

  private submitUnobserved(
    propose: () => ReturnType<Raft["propose"]>,
    timeoutMs: number,
  ): Promise<unknown> {
    if (!this.started) return Promise.reject(new StoppedError("node not started"));
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopped) return Promise.reject(new StoppedError("node stopped"));
    if (this.queuedProposals + this.proposals.size >= (this.o.maxPendingProposals ?? 10_000)) {
      return Promise.reject(new OverloadedError("too many proposals pending"));
    }
    this.queuedProposals++;
    return new Promise((resolve, reject) => {
      this.enqueue(() => {
        this.queuedProposals--;
        const result = propose();
        if (!result.ok) {
          reject(
            result.reason === "notLeader"
              ? this.notLeader()
              : result.reason === "overloaded"
                ? new OverloadedError("too many uncommitted entries")
                : result.reason === "transferring"
                  ? new NotLeaderError(result.leader, this.addressOf(result.leader))
                  : new MembershipChangeRefusedError(result.reason),
          );
          return;
        }
        this.stats.proposals++;
        const timer = setTimeout(() => {
          if (this.proposals.get(result.index)?.timer === timer)
            this.proposals.delete(result.index);
          reject(
            new TimeoutError(
              `proposal at index ${result.index} not applied within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        this.proposals.set(result.index, { term: result.term, resolve, reject, timer });
      });
    });
  }

  /** Proposals waiting to be committed here: queued for the loop or appended and unsettled. */
  get pendingProposals(): number {
    return this.queuedProposals + this.proposals.size;
  }

  /**
   * A linearizable read barrier: resolves once this node has applied everything committed
   * before the call (ReadIndex, on the leader or through it). Then read the state machine.
   */
  readBarrier(timeoutMs = this.o.timeoutMs ?? 10_000): Promise<void> {
    if (!this.started) return Promise.reject(new StoppedError("node not started"));
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopped) return Promise.reject(new StoppedError("node stopped"));
    return new Promise((resolve, reject) => {
      const context = `${this.o.id}:${this.nextRead++}`;
      const timer = setTimeout(() => {
        this.reads.delete(context);
        const at = this.readsAtIndex.findIndex((r) => r.waiter.timer === timer);
        if (at >= 0) this.readsAtIndex.splice(at, 1);
        // A read that never found a leader says so; one that did has an unknown fate.
        const waitedForLeader = this.readsAwaitingLeader.delete(context);
        reject(
          waitedForLeader
            ? this.notLeader()
            : new TimeoutError(`read not confirmed within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.enqueue(() => {
        this.reads.set(context, { resolve, reject, timer });
        // Right after a restart or a partition heals no leader may be known yet: the read
        // waits for one (retried every turn of the loop) until its deadline.
        this.askForReadIndex(context);
      });
    });
  }

  /** Asks the leader for a read index for `context`, or parks it until a leader is known. */
  private askForReadIndex(context: string): void {
    if (this.raft.readIndex(context)) this.readsAskedAtTick.set(context, this.ticks);
    else this.readsAwaitingLeader.add(context);
  }

  private retryReadsAwaitingLeader(): void {
    // A copy: a read still without a leader goes back into the set.
    for (const context of [...this.readsAwaitingLeader]) {
      this.readsAwaitingLeader.delete(context);
      if (this.reads.has(context)) this.askForReadIndex(context);
    }
  }

  private askUnansweredReadsAgain(): void {
    for (const [context, askedAt] of this.readsAskedAtTick) {
      if (!this.reads.has(context)) this.readsAskedAtTick.delete(context);
      else if (this.ticks - askedAt >= READ_RESEND_TICKS) {
        this.readsAskedAtTick.delete(context);
        this.askForReadIndex(context);
      }
    }
  }

  /**
   * Asks the leader (this node) to hand leadership to `to`. False when this node does not
   * lead or `to` is not another voter; true when the hand-over has begun (it completes when
   * `to` wins its election, or is abandoned after an election timeout).
   */
  transferLeadership(to: NodeId): boolean {
    if (!this.started || this.stopped || this.failure) return false;
    const status = this.raft.status();
    if (status.role !== "leader" || to === this.o.id || !status.conf.voters.includes(to))
      return false;
    // Through the loop, like every input, so the core's messages are sent.
    this.enqueue(() => this.raft.transferLeadership(to));
    return true;
  }

  status(): ReturnType<Raft["status"]> {
    return this.raft.status();
  }

  /** Stops ticking and looping; pending proposals and reads fail with StoppedError. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    await this.looping;
    this.failAll(new StoppedError("node stopped"));
    await this.incoming?.abort();
    await this.o.storage.close();
  }

  private addressOf(id: NodeId): string {
    return id ? (this.o.addresses?.(id) ?? "") : "";
  }

  private notLeader(): NotLeaderError {
    const lead = this.raft.status().lead;
    return new NotLeaderError(lead, this.addressOf(lead));
  }

  private enqueue(input: () => void): void {
    // A failed or stopped node takes no more input: nothing would ever drain it.
    if (this.failure || (this.stopped && this.looping === undefined)) return;
    this.inputs.push(input);
    this.looping ??= this.loop().finally(() => {
      this.looping = undefined;
      if (this.inputs.length > 0 && !this.stopped && !this.failure) this.enqueue(() => {});
    });
  }

  /** The Ready loop: runs while there is input or work, one batch per fsync. */
  private async loop(): Promise<void> {
    try {
      while (!this.failure) {
        for (const input of this.inputs.splice(0)) input();
        if (this.readsAwaitingLeader.size > 0) this.retryReadsAwaitingLeader();
        if (!this.raft.hasReady()) {
          if (this.inputs.length === 0) return;
          continue;
        }
        await this.handle(this.raft.ready());
        if (this.stopped) return;
      }
    } catch (error) {
      // Storage that failed cannot be trusted with more writes: stop serving.
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.inputs.length = 0;
      this.failAll(this.failure);
      clearInterval(this.ticker);
    }
  }

  private async handle(ready: Ready): Promise<void> {
    // 0. A leader's appends and heartbeats promise nothing about its own disk, so they go out
    //    while it writes (Raft thesis 10.2.1): followers persist in parallel with the leader.
    //    Commit still needs a majority durable, and the leader applies only what it persisted.
    const early = ready.messages.filter((m) => m.type === "append" || m.type === "heartbeat");
    for (const message of early) this.o.transport.send(message);
    // 1. Persist: snapshot pieces, then entries and hard state with one fsync.
    for (const piece of ready.snapshotPieces) {
      if (piece.offset === 0) {
        await this.incoming?.abort();
        this.incoming = await this.o.storage.beginSnapshot(piece.meta);
      }
      await this.incoming?.write(piece.data);
      if (piece.done) {
        await this.incoming?.commit();
        this.incoming = undefined;
      }
    }
    if (ready.entries.length > 0 || ready.hardState) {
      // Term and vote must be durable before anything depends on them; a commit index alone
      // need not be (a lower one is learned again after a restart).
      const hs = ready.hardState;
      const sync =
        ready.entries.length > 0 ||
        (hs !== undefined && (hs.term !== this.persisted.term || hs.vote !== this.persisted.vote));
      const started = performance.now();
      await this.o.storage.append(ready.entries, hs, sync);
      if (hs) this.persisted = hs;
      if (sync) {
        this.stats.fsyncs++;
        this.o.observer?.onFsync?.((performance.now() - started) / 1000);
      }
      this.stats.batches++;
      this.stats.entriesPersisted += ready.entries.length;
    }
    // 2. Send; snapshot pieces carry bytes read from the stored snapshot.
    for (const message of ready.messages) {
      if (message.type === "append" || message.type === "heartbeat") continue; // sent in step 0
      if (message.type === "snapshot") {
        if (this.o.storage.snapshotMeta().index !== message.meta.index) continue;
        const data = await this.o.storage.readSnapshot(message.offset, message.length);
        this.o.transport.send({ ...message, data });
      } else {
        this.o.transport.send(message);
      }
    }
    // 3. Install a received snapshot, then apply committed entries.
    if (ready.snapshot) {
      await this.o.stateMachine.restore(ready.snapshot, (offset, length) =>
        this.o.storage.readSnapshot(offset, length),
      );
    }
    if (ready.committedEntries.length > 0) {
      const results = await this.o.stateMachine.apply(ready.committedEntries);
      for (const [i, entry] of ready.committedEntries.entries())
        this.settleProposal(entry, results[i]);
    }
    // 4. Reads whose index is reached.
    for (const readState of ready.readStates) {
      const waiter = this.reads.get(readState.context);
      if (!waiter) continue;
      this.reads.delete(readState.context);
      this.readsAtIndex.push({ index: readState.index, waiter });
    }
    this.raft.advance(ready);
    const leader = this.raft.leader();
    if (leader !== this.lastLeader) {
      this.lastLeader = leader;
      if (leader) this.o.observer?.onLeaderChange?.(leader, this.raft.status().term);
    }
    this.releaseReads();
    await this.maybeSnapshot();
  }

  private settleProposal(entry: Entry, result: unknown): void {
    const waiter = this.proposals.get(entry.index);
    if (!waiter) return;
    this.proposals.delete(entry.index);
    clearTimeout(waiter.timer);
    if (waiter.term === entry.term)
      waiter.resolve(entry.type === EntryType.Normal ? result : undefined);
    else waiter.reject(this.notLeader()); // another leader's entry took the index: ours was cut
  }

  private releaseReads(): void {
    const applied = this.o.stateMachine.appliedIndex();
    for (let i = this.readsAtIndex.length - 1; i >= 0; i--) {
      const read = this.readsAtIndex[i]!;
      if (read.index > applied) continue;
      this.readsAtIndex.splice(i, 1);
      clearTimeout(read.waiter.timer);
      read.waiter.resolve();
    }
  }

  private async maybeSnapshot(): Promise<void> {
    const every = this.o.snapshotEntries ?? 10_000;
    const applied = this.o.stateMachine.appliedIndex();
    if (every === 0 || this.snapshotting || applied - this.o.storage.snapshotMeta().index < every)
      return;
    this.snapshotting = true;
    try {
      const started = performance.now();
      const snap = await this.o.stateMachine.snapshot();
      const meta = this.raft.compact(snap.index, snap.size);
      const writer = await this.o.storage.beginSnapshot(meta);
      for await (const chunk of snap.chunks) await writer.write(chunk);
      await writer.commit();
      this.o.observer?.onSnapshot?.((performance.now() - started) / 1000);
    } finally {
      this.snapshotting = false;
    }
  }

  private failAll(error: Error): void {
    for (const waiter of this.proposals.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.proposals.clear();
    for (const waiter of this.reads.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.reads.clear();
    this.readsAwaitingLeader.clear();
    this.readsAskedAtTick.clear();
    for (const { waiter } of this.readsAtIndex.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }
}
