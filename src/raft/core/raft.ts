/**
 * The Raft consensus core: a deterministic state machine with no I/O, no timers and no
 * randomness of its own. Inputs are `tick`, `step`, `propose`, `proposeMembershipChange`,
 * `readIndex`, `transferLeadership` and `compact`; the output is a `Ready` batch that the
 * driver persists, sends and applies before calling `advance`.
 *
 * Rules it keeps (Raft paper and thesis, as etcd's raft keeps them):
 * - term and vote are persisted before any message that depends on them is sent (the Ready
 *   contract), and a node votes at most once per term;
 * - pre-vote keeps a partitioned node from raising terms; check-quorum makes a leader that has
 *   not heard from a majority for an election timeout step down, and a follower that heard
 *   from its leader within that time ignores votes (the leader lease);
 * - a new leader appends a no-op; commit advances only by counting replicas of an entry of the
 *   current term; a single voter commits on its own;
 * - a follower cuts a conflicting tail; a rejection carries a hint so the leader skips a whole
 *   term per round trip, never one index;
 * - one membership change at a time, taking effect when applied.
 */
import { applyConfChange, decodeConfChange, encodeConfChange } from "./conf-change.ts";
import { Progress } from "./progress.ts";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Ready,
  type ReportedRole,
  type Role,
  type SnapshotMeta,
  type SnapshotPiece,
} from "./types.ts";

export interface RaftConfig {
  readonly id: NodeId;
  /** Ticks without a leader before campaigning; the timeout is randomized in [n, 2n). */
  readonly electionTicks: number;
  /** Ticks between a leader's heartbeats; must be less than electionTicks. */
  readonly heartbeatTicks: number;
  /** A seeded generator in [0, 1): the only source of randomness. */
  readonly random: () => number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Appends in flight to one follower. Default 256. */
  readonly maxInflight?: number;
  /** Entry bytes in one append (at least one entry is always sent). Default 1 MiB. */
  readonly maxMessageBytes?: number;
  /** Bytes in one snapshot piece. Default 1 MiB. */
  readonly maxSnapshotPieceBytes?: number;
  /** Entries proposed but not yet committed, beyond which proposals are refused. Default 10,000. */
  readonly maxUncommittedEntries?: number;
}

/** What a node starts from: its persisted state, or a new group's members. */
export interface RaftBootState {
  readonly hardState: HardState;
  /** The snapshot the log starts after; index 0 with the initial members for a new group. */
  readonly snapshot: SnapshotMeta;
  /** Persisted entries after the snapshot, in order. */
  readonly entries: readonly Entry[];
}

/** Why a proposal was refused. */
export type ProposalRefusal =
  | "notLeader"
  | "transferring"
  | "confChangePending"
  | "overloaded"
  | "notCaughtUp";

export type ProposalResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: ProposalRefusal; readonly leader: NodeId };

const EMPTY = new Uint8Array(0);

/** The majority of `n` voters. */
function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

export class Raft {
  readonly id: NodeId;
  private term = 0;
  private vote: NodeId = "";
  private commit = 0;
  private role: Role = "follower";
  private lead: NodeId = "";

  // The log: entries after the snapshot, and how far it is persisted and applied.
  private snapshot: SnapshotMeta;
  private entries: Entry[] = [];
  private stable = 0;
  private applied = 0;
  private conf: ConfState;
  /** Configurations that took effect, with the index of their entry; for snapshot metadata. */
  private confHistory: Array<{ index: number; conf: ConfState }> = [];
  private pendingConfIndex = 0;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly votes = new Map<NodeId, boolean>();
  private readonly progress = new Map<NodeId, Progress>();
  private leadTransferee: NodeId = "";

  private readonly readsAwaitingCommit: Array<{ context: string; from: NodeId }> = [];
  /**
   * Reads waiting for a quorum to confirm leadership, oldest first. `round` is the context of
   * the heartbeat round that confirms a read: its own, or that of an earlier read whose round
   * had not left this node yet when it arrived (reads share rounds; see startRead).
   */
  private readonly pendingReads: Array<{
    context: string;
    round: string;
    index: number;
    from: NodeId;
    acks: Set<NodeId>;
  }> = [];
  /** The read round broadcast since the last ready(): its heartbeats are still in `msgs`. */
  private unsentReadRound: string | undefined;
  private readStates: ReadState[] = [];

  private incomingSnapshot: { meta: SnapshotMeta; received: number } | undefined;
  private snapshotPieces: SnapshotPiece[] = [];
  private snapshotToInstall: SnapshotMeta | undefined;

  private msgs: Message[] = [];
  /** Proposals were appended since the last Ready: one append per follower carries them all. */
  private proposalsToBroadcast = false;
  private persistedHardState: HardState;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxInflight: number;
  private readonly maxMessageBytes: number;
  private readonly maxPieceBytes: number;
  private readonly maxUncommitted: number;

  constructor(
    private readonly config: RaftConfig,
    boot: RaftBootState,
  ) {
    if (config.heartbeatTicks <= 0 || config.electionTicks <= config.heartbeatTicks) {
      throw new RangeError("need 0 < heartbeatTicks < electionTicks");
    }
    this.id = config.id;
    this.preVote = config.preVote ?? true;
    this.checkQuorum = config.checkQuorum ?? true;
    this.maxInflight = config.maxInflight ?? 256;
    this.maxMessageBytes = config.maxMessageBytes ?? 1024 * 1024;
    this.maxPieceBytes = config.maxSnapshotPieceBytes ?? 1024 * 1024;
    this.maxUncommitted = config.maxUncommittedEntries ?? 10_000;
    this.snapshot = boot.snapshot;
    this.conf = boot.snapshot.conf;
    this.confHistory = [{ index: boot.snapshot.index, conf: boot.snapshot.conf }];
    this.entries = [...boot.entries];
    if (this.entries.length > 0 && this.entries[0]!.index !== this.snapshot.index + 1) {
      throw new Error(
        `log starts at ${this.entries[0]!.index}, snapshot ends at ${this.snapshot.index}`,
      );
    }
    this.stable = this.lastIndex();
    this.term = boot.hardState.term;
    this.vote = boot.hardState.vote;
    // Entries up to the snapshot are applied by installing it; the rest are replayed.
    this.applied = this.snapshot.index;
    this.commit = Math.max(boot.hardState.commit, this.snapshot.index);
    if (this.commit > this.lastIndex())
      throw new Error(`commit ${this.commit} beyond last index ${this.lastIndex()}`);
    this.persistedHardState = { term: this.term, vote: this.vote, commit: this.commit };
    this.resetElectionTimeout();
  }

  // ---------------------------------------------------------------- state for the driver

  /** The leader this node knows of, empty when none: cheaper than `status()` per batch. */
  leader(): NodeId {
    return this.lead;
  }

  status(): {
    id: NodeId;
    role: ReportedRole;
    term: number;
    lead: NodeId;
    commit: number;
    applied: number;
    lastIndex: number;
    snapshotIndex: number;
    conf: ConfState;
    progress: Record<NodeId, { match: number; next: number; state: string }>;
  } {
    const progress: Record<NodeId, { match: number; next: number; state: string }> = {};
    for (const [id, pr] of this.progress)
      progress[id] = { match: pr.match, next: pr.next, state: pr.state };
    return {
      id: this.id,
      role:
        this.role === "follower" && this.conf.learners.includes(this.id) ? "learner" : this.role,
      term: this.term,
      lead: this.lead,
      commit: this.commit,
      applied: this.applied,
      lastIndex: this.lastIndex(),
      snapshotIndex: this.snapshot.index,
      conf: this.conf,
      progress,
    };
  }

  /** The configuration as of `index` (at most the applied index): for snapshot metadata. */
  confAt(index: number): ConfState {
    let conf = this.confHistory[0]!.conf;
    for (const entry of this.confHistory) if (entry.index <= index) conf = entry.conf;
    return conf;
  }

  /** Entries in [from, to) still in the log (for a driver answering a snapshot or debugging). */
  entriesBetween(from: number, to: number): Entry[] {
    const first = this.snapshot.index + 1;
    return this.entries.slice(Math.max(0, from - first), Math.max(0, to - first));
  }

  hasReady(): boolean {
    return (
      this.proposalsToBroadcast ||
      this.msgs.length > 0 ||
      this.lastIndex() > this.stable ||
      this.snapshotPieces.length > 0 ||
      this.snapshotToInstall !== undefined ||
      this.readStates.length > 0 ||
      Math.min(this.commit, this.stable) > this.applied ||
      !sameHardState(this.hardState(), this.persistedHardState)
    );
  }

  /** The next batch of work. Messages, pieces and read states are handed over once. */
  ready(): Ready {
    if (this.proposalsToBroadcast && this.role === "leader") this.broadcastAppend();
    this.proposalsToBroadcast = false;
    const hardState = this.hardState();
    const applyTo = Math.min(this.commit, this.stable);
    const ready: Ready = {
      hardState: sameHardState(hardState, this.persistedHardState) ? undefined : hardState,
      entries: this.entriesBetween(this.stable + 1, this.lastIndex() + 1),
      snapshotPieces: this.snapshotPieces,
      snapshot: this.snapshotToInstall,
      committedEntries: this.entriesBetween(
        Math.max(this.applied, this.snapshot.index) + 1,
        applyTo + 1,
      ),
      messages: this.msgs,
      readStates: this.readStates,
    };
    this.msgs = [];
    this.unsentReadRound = undefined;
    this.snapshotPieces = [];
    this.snapshotToInstall = undefined;
    this.readStates = [];
    return ready;
  }

  /** Acknowledges that `ready` was persisted, sent and applied. */
  advance(ready: Ready): void {
    if (ready.hardState) this.persistedHardState = ready.hardState;
    const last = ready.entries.at(-1);
    if (last && this.termAt(last.index) === last.term)
      this.stable = Math.max(this.stable, last.index);
    const self = this.progress.get(this.id);
    if (self) self.match = this.stable;
    if (ready.snapshot) this.applied = Math.max(this.applied, ready.snapshot.index);
    for (const entry of ready.committedEntries) {
      if (entry.index <= this.applied) continue;
      this.applied = entry.index;
      if (entry.type === EntryType.ConfChange)
        this.applyConf(entry.index, decodeConfChange(entry.data));
    }
    if (this.role === "leader") {
      if (this.maybeCommit()) this.broadcastAppend();
      this.releaseReadsAwaitingCommit();
    }
  }

  // ---------------------------------------------------------------- inputs

  /** One unit of logical time. */
  tick(): void {
    if (this.role === "leader") this.tickLeader();
    else this.tickElection();
  }

  /** Appends `data` if this node leads; the entry commits later (watch committed entries). */
  propose(data: Uint8Array): ProposalResult {
    return this.appendProposal(EntryType.Normal, data);
  }

  /**
   * Proposes one membership change. Refused while another is pending (proposed, not yet
   * applied); promoting a learner is refused until it has caught up with the commit index.
   */
  proposeMembershipChange(change: ConfChange): ProposalResult {
    if (this.role === "leader" && this.pendingConfIndex > this.applied) {
      return { ok: false, reason: "confChangePending", leader: this.lead };
    }
    if (this.role === "leader" && change.type === "promote") {
      const pr = this.progress.get(change.node);
      if (!pr || pr.match < this.commit)
        return { ok: false, reason: "notCaughtUp", leader: this.lead };
    }
    const result = this.appendProposal(EntryType.ConfChange, encodeConfChange(change));
    if (result.ok) this.pendingConfIndex = result.index;
    return result;
  }

  /**
   * Asks for a linearizable read point. The answer is a ReadState in a later Ready carrying
   * `context`; on a follower the request goes to the leader. False when no leader is known
   * (the caller retries or fails); a request may also be lost with a message, so callers need
   * a deadline.
   */
  readIndex(context: string): boolean {
    if (this.role === "leader") {
      this.handleReadIndex(context, this.id);
      return true;
    }
    if (!this.lead) return false;
    this.send({ type: "readIndex", from: this.id, to: this.lead, term: this.term, context });
    return true;
  }

  /** Hands leadership to `to` once it has caught up. False when this node cannot. */
  transferLeadership(to: NodeId): boolean {
    if (this.role !== "leader" || to === this.id || !this.conf.voters.includes(to)) return false;
    this.leadTransferee = to;
    const pr = this.progress.get(to)!;
    if (pr.match === this.lastIndex())
      this.send({ type: "timeoutNow", from: this.id, to, term: this.term });
    else this.sendAppend(to);
    return true;
  }

  /**
   * The state machine has a snapshot of everything up to `index` (at most the applied index),
   * `size` bytes long. Entries up to `index` are dropped from the log; followers that need
   * them get the snapshot instead. Returns the snapshot's metadata for the driver to store.
   */
  compact(index: number, size: number): SnapshotMeta {
    if (index > this.applied)
      throw new Error(`cannot snapshot at ${index}: applied only ${this.applied}`);
    if (index <= this.snapshot.index) return this.snapshot;
    const term = this.termAt(index);
    if (term === undefined) throw new Error(`no term known for index ${index}`);
    const conf = this.confAt(index);
    this.entries = this.entriesFrom(index + 1);
    this.snapshot = { index, term, conf, size };
    // Configurations before the snapshot's are no longer needed.
    this.confHistory = [{ index, conf }, ...this.confHistory.filter((h) => h.index > index)];
    return this.snapshot;
  }

  /** Processes a message from another node. */
  step(m: Message): void {
    if (m.term > this.term) {
      if ((m.type === "vote" || m.type === "preVote") && this.inLease() && !m.transfer) {
        return; // Our leader was heard from recently: a disruptive candidate is ignored.
      }
      const keepsTerm = m.type === "preVote" || (m.type === "preVoteResp" && !m.reject);
      // A pre-vote changes no term, and a granted one carries the term the candidate will use.
      if (!keepsTerm) {
        const leaderMessage =
          m.type === "append" || m.type === "heartbeat" || m.type === "snapshot";
        this.becomeFollower(m.term, leaderMessage ? m.from : "");
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === "append" || m.type === "heartbeat")) {
        // Tell a stale leader about the newer term so it steps down.
        this.send({
          type: "appendResp",
          from: this.id,
          to: m.from,
          term: this.term,
          reject: true,
          index: 0,
          hintIndex: 0,
          hintTerm: 0,
        });
      } else if (m.type === "preVote") {
        this.send({
          type: "preVoteResp",
          from: this.id,
          to: m.from,
          term: this.term,
          reject: true,
        });
      }
      return;
    }

    switch (m.type) {
      case "vote":
      case "preVote":
        this.handleVoteRequest(m);
        return;
      case "readIndex":
        if (this.role === "leader") this.handleReadIndex(m.context, m.from);
        return;
      case "readIndexResp":
        if (this.role !== "leader") this.readStates.push({ index: m.index, context: m.context });
        return;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(m);
        return;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(m);
        return;
      case "follower":
        this.stepFollower(m);
        return;
    }
  }

  // ---------------------------------------------------------------- the log

  private firstIndex(): number {
    return this.snapshot.index + 1;
  }

  private lastIndex(): number {
    return this.entries.at(-1)?.index ?? this.snapshot.index;
  }

  private lastTerm(): number {
    return this.termAt(this.lastIndex()) ?? 0;
  }

  /** The term of the entry at `index`, or undefined when it is compacted away or not there. */
  private termAt(index: number): number | undefined {
    if (index === this.snapshot.index) return this.snapshot.term;
    if (index < this.snapshot.index || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshot.index - 1]?.term;
  }

  private entriesFrom(from: number): Entry[] {
    return this.entries.slice(Math.max(0, from - this.snapshot.index - 1));
  }

  /** Appends entries after `after`, cutting a conflicting tail. Returns the new last index. */
  private appendEntries(after: number, incoming: readonly Entry[]): number {
    let i = 0;
    // Skip entries we already have; a conflict (same index, other term) cuts the log there.
    for (; i < incoming.length; i++) {
      const entry = incoming[i]!;
      const term = this.termAt(entry.index);
      if (term === undefined) break;
      if (term !== entry.term) {
        if (entry.index <= this.commit) {
          throw new Error(`conflict at committed index ${entry.index}: log matching is broken`);
        }
        this.truncateFrom(entry.index);
        break;
      }
    }
    for (; i < incoming.length; i++) this.entries.push(incoming[i]!);
    return after + incoming.length;
  }

  private truncateFrom(index: number): void {
    this.entries.length = Math.max(0, index - this.snapshot.index - 1);
    this.stable = Math.min(this.stable, index - 1);
    if (this.pendingConfIndex >= index) this.pendingConfIndex = 0;
  }

  /** Largest index <= `index` whose term is <= `term`: where a log may match. */
  private findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    for (; i > this.firstIndex() - 1; i--) {
      const t = this.termAt(i);
      if (t === undefined || t <= term) break;
    }
    return i;
  }

  private isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.commit };
  }

  // ---------------------------------------------------------------- roles

  private resetElectionTimeout(): void {
    const n = this.config.electionTicks;
    this.randomizedElectionTimeout = n + Math.floor(this.config.random() * n);
  }

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = "";
    }
    this.lead = "";
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetElectionTimeout();
    this.votes.clear();
    this.leadTransferee = "";
    this.readsAwaitingCommit.length = 0;
    this.pendingReads.length = 0;
    this.unsentReadRound = undefined;
  }

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.role = "follower";
    this.lead = lead;
  }

  private becomePreCandidate(): void {
    // A pre-candidate changes neither term nor vote: a lost pre-election costs nothing.
    this.role = "preCandidate";
    this.votes.clear();
    this.lead = "";
    this.electionElapsed = 0;
    this.resetElectionTimeout();
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.role = "leader";
    this.lead = this.id;
    this.progress.clear();
    for (const id of [...this.conf.voters, ...this.conf.learners]) {
      const pr = new Progress(this.lastIndex() + 1);
      if (id === this.id) pr.match = this.stable;
      this.progress.set(id, pr);
    }
    // Membership changes past the commit index may still be pending.
    this.pendingConfIndex = this.lastIndex();
    this.entries.push({
      term: this.term,
      index: this.lastIndex() + 1,
      type: EntryType.Normal,
      data: EMPTY,
    });
    this.broadcastAppend();
  }

  private isVoter(): boolean {
    return this.conf.voters.includes(this.id);
  }

  private inLease(): boolean {
    return this.checkQuorum && this.lead !== "" && this.electionElapsed < this.config.electionTicks;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout && this.isVoter()) {
      this.electionElapsed = 0;
      this.campaign(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, "");
        return;
      }
      if (this.leadTransferee) this.leadTransferee = ""; // the transfer took too long
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(this.pendingReads.at(-1)?.round ?? "");
    }
  }

  /** Whether a majority of voters was heard from since the last check; resets the marks. */
  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.conf.voters) {
      const pr = this.progress.get(id);
      if (id === this.id || pr?.recentActive) active++;
      if (pr) pr.recentActive = false;
    }
    return active >= quorum(this.conf.voters.length);
  }

  private campaign(transfer: boolean): void {
    if (this.preVote && !transfer) this.becomePreCandidate();
    else this.becomeCandidate();
    const pre = this.role === "preCandidate";
    const term = pre ? this.term + 1 : this.term;
    this.recordVote(this.id, true);
    if (this.electionWon()) {
      if (pre) this.campaign(true);
      else this.becomeLeader();
      return;
    }
    for (const id of this.conf.voters) {
      if (id === this.id) continue;
      this.send({
        type: pre ? "preVote" : "vote",
        from: this.id,
        to: id,
        term,
        lastIndex: this.lastIndex(),
        lastTerm: this.lastTerm(),
        transfer,
      });
    }
  }

  private recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  private electionWon(): boolean {
    let granted = 0;
    for (const id of this.conf.voters) if (this.votes.get(id) === true) granted++;
    return granted >= quorum(this.conf.voters.length);
  }

  private electionLost(): boolean {
    let rejected = 0;
    for (const id of this.conf.voters) if (this.votes.get(id) === false) rejected++;
    return rejected > this.conf.voters.length - quorum(this.conf.voters.length);
  }

  private handleVoteRequest(m: Extract<Message, { type: "vote" | "preVote" }>): void {
    const pre = m.type === "preVote";
    const canVote =
      this.vote === m.from || (this.vote === "" && this.lead === "") || (pre && m.term > this.term);
    if (canVote && this.isUpToDate(m.lastIndex, m.lastTerm)) {
      this.send({
        type: pre ? "preVoteResp" : "voteResp",
        from: this.id,
        to: m.from,
        term: m.term,
        reject: false,
      });
      if (!pre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({
        type: pre ? "preVoteResp" : "voteResp",
        from: this.id,
        to: m.from,
        term: this.term,
        reject: true,
      });
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "append":
      case "heartbeat":
      case "snapshot":
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case "voteResp":
      case "preVoteResp": {
        if ((m.type === "voteResp") !== (this.role === "candidate")) return;
        this.recordVote(m.from, !m.reject);
        if (this.electionWon()) {
          if (this.role === "preCandidate") this.campaign(true);
          else this.becomeLeader();
        } else if (this.electionLost()) {
          this.becomeFollower(this.term, "");
        }
        return;
      }
      case "timeoutNow":
        return;
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "append":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.commit = Math.max(this.commit, Math.min(m.commit, this.lastIndex()));
        this.send({
          type: "heartbeatResp",
          from: this.id,
          to: m.from,
          term: this.term,
          context: m.context,
        });
        return;
      case "snapshot":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshotPiece(m);
        return;
      case "timeoutNow":
        if (this.isVoter()) this.campaign(true);
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- follower side

  private handleAppend(m: Extract<Message, { type: "append" }>): void {
    const reply = (reject: boolean, index: number, hintIndex = 0, hintTerm = 0) =>
      this.send({
        type: "appendResp",
        from: this.id,
        to: m.from,
        term: this.term,
        reject,
        index,
        hintIndex,
        hintTerm,
      });
    if (m.prevIndex < this.commit) {
      reply(false, this.commit);
      return;
    }
    if (this.termAt(m.prevIndex) === m.prevTerm) {
      const last = this.appendEntries(m.prevIndex, m.entries);
      this.commit = Math.max(this.commit, Math.min(m.commit, last));
      reply(false, last);
      return;
    }
    const hintIndex = this.findConflictByTerm(Math.min(m.prevIndex, this.lastIndex()), m.prevTerm);
    reply(true, m.prevIndex, hintIndex, this.termAt(hintIndex) ?? 0);
  }

  private handleSnapshotPiece(m: Extract<Message, { type: "snapshot" }>): void {
    const reply = (received: number, reject: boolean) =>
      this.send({
        type: "snapshotResp",
        from: this.id,
        to: m.from,
        term: this.term,
        snapshotIndex: m.meta.index,
        received,
        reject,
      });
    if (m.meta.index <= this.commit) {
      // Already have everything it covers.
      this.send({
        type: "appendResp",
        from: this.id,
        to: m.from,
        term: this.term,
        reject: false,
        index: this.commit,
        hintIndex: 0,
        hintTerm: 0,
      });
      return;
    }
    if (m.offset === 0) this.incomingSnapshot = { meta: m.meta, received: 0 };
    const incoming = this.incomingSnapshot;
    if (
      !incoming ||
      incoming.meta.index !== m.meta.index ||
      incoming.meta.term !== m.meta.term ||
      incoming.received !== m.offset
    ) {
      reply(incoming && incoming.meta.index === m.meta.index ? incoming.received : 0, true);
      return;
    }
    this.snapshotPieces.push({ meta: m.meta, offset: m.offset, data: m.data, done: m.done });
    incoming.received += m.length;
    if (!m.done) {
      reply(incoming.received, false);
      return;
    }
    this.incomingSnapshot = undefined;
    this.restore(m.meta);
    this.send({
      type: "appendResp",
      from: this.id,
      to: m.from,
      term: this.term,
      reject: false,
      index: this.lastIndex(),
      hintIndex: 0,
      hintTerm: 0,
    });
  }

  /** Replaces the log with a received snapshot (keeping a matching suffix). */
  private restore(meta: SnapshotMeta): void {
    if (this.termAt(meta.index) === meta.term) {
      // The log already has the snapshot's last entry: keep what follows it.
      this.entries = this.entriesFrom(meta.index + 1);
    } else {
      this.entries = [];
    }
    this.snapshot = meta;
    this.commit = Math.max(this.commit, meta.index);
    this.stable = Math.max(this.stable, meta.index);
    if (this.stable > this.lastIndex()) this.stable = this.lastIndex();
    this.conf = meta.conf;
    this.confHistory = [{ index: meta.index, conf: meta.conf }];
    this.snapshotToInstall = meta;
  }

  // ---------------------------------------------------------------- leader side

  private appendProposal(type: EntryType, data: Uint8Array): ProposalResult {
    if (this.role !== "leader") return { ok: false, reason: "notLeader", leader: this.lead };
    if (this.leadTransferee) return { ok: false, reason: "transferring", leader: this.lead };
    if (this.lastIndex() - this.commit >= this.maxUncommitted)
      return { ok: false, reason: "overloaded", leader: this.id };
    const entry: Entry = { term: this.term, index: this.lastIndex() + 1, type, data };
    this.entries.push(entry);
    this.proposalsToBroadcast = true;
    return { ok: true, index: entry.index, term: entry.term };
  }

  private applyConf(index: number, change: ConfChange): void {
    this.conf = applyConfChange(this.conf, change);
    this.confHistory.push({ index, conf: this.conf });
    if (this.role !== "leader") return;
    if (change.type === "addLearner" && !this.progress.has(change.node)) {
      this.progress.set(change.node, new Progress(this.lastIndex() + 1));
    }
    if (change.type === "remove") {
      this.progress.delete(change.node);
      if (change.node === this.id) {
        // A leader removed from the group steps down once its removal is applied.
        this.becomeFollower(this.term, "");
        return;
      }
      if (this.leadTransferee === change.node) this.leadTransferee = "";
    }
    // A smaller quorum may commit at once.
    if (this.maybeCommit()) this.broadcastAppend();
  }

  /** Advances the commit index to what a majority of voters holds in the current term. */
  private maybeCommit(): boolean {
    const voters = this.conf.voters;
    if (voters.length === 0) return false;
    const matches = voters
      .map((id) => (id === this.id ? this.stable : (this.progress.get(id)?.match ?? 0)))
      .sort((a, b) => b - a);
    const index = matches[quorum(voters.length) - 1]!;
    if (index > this.commit && this.termAt(index) === this.term) {
      this.commit = index;
      this.releaseReadsAwaitingCommit();
      return true;
    }
    return false;
  }

  private broadcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  private broadcastHeartbeat(context: string): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      this.send({
        type: "heartbeat",
        from: this.id,
        to: id,
        term: this.term,
        commit: Math.min(pr.match, this.commit),
        context,
      });
    }
  }

  /** Sends `to` what it lacks: entries, or the snapshot when they are compacted away. */
  private sendAppend(to: NodeId): void {
    const pr = this.progress.get(to);
    if (!pr) return;
    if (pr.state === "snapshot") {
      this.sendSnapshotPieces(to, pr);
      return;
    }
    if (pr.isPaused(this.maxInflight)) return;
    const prevIndex = pr.next - 1;
    const prevTerm = this.termAt(prevIndex);
    if (prevTerm === undefined || pr.next < this.firstIndex()) {
      pr.becomeSnapshot(this.snapshot.index);
      this.sendSnapshotPieces(to, pr);
      return;
    }
    const entries: Entry[] = [];
    let bytes = 0;
    for (const entry of this.entriesFrom(pr.next)) {
      if (entries.length > 0 && bytes + entry.data.length > this.maxMessageBytes) break;
      entries.push(entry);
      bytes += entry.data.length;
    }
    this.send({
      type: "append",
      from: this.id,
      to,
      term: this.term,
      prevIndex,
      prevTerm,
      entries,
      commit: this.commit,
    });
    if (pr.state === "replicate" && entries.length > 0) {
      const last = entries.at(-1)!.index;
      pr.next = last + 1;
      pr.inflight.push(last);
    } else if (pr.state === "probe") {
      pr.probeSent = true;
    }
  }

  private sendEmptyAppend(to: NodeId, pr: Progress): void {
    const prevIndex = pr.next - 1;
    const prevTerm = this.termAt(prevIndex);
    if (prevTerm === undefined) {
      // Compacted away: probing finds that out and moves the follower to a snapshot.
      pr.becomeProbe();
      this.sendAppend(to);
      return;
    }
    this.send({
      type: "append",
      from: this.id,
      to,
      term: this.term,
      prevIndex,
      prevTerm,
      entries: [],
      commit: Math.min(this.commit, pr.match),
    });
  }

  /** Streams the snapshot to `to`, at most a window of unacknowledged bytes at a time. */
  private sendSnapshotPieces(to: NodeId, pr: Progress): void {
    const meta = this.snapshot;
    if (pr.snapshotIndex !== meta.index) pr.becomeSnapshot(meta.index);
    const window = this.maxInflight * this.maxPieceBytes;
    while (!pr.snapshotDoneSent && pr.snapshotSent - pr.snapshotAcked < window) {
      const offset = pr.snapshotSent;
      const length = Math.min(this.maxPieceBytes, meta.size - offset);
      const done = offset + length >= meta.size;
      this.send({
        type: "snapshot",
        from: this.id,
        to,
        term: this.term,
        meta,
        offset,
        length,
        data: EMPTY,
        done,
      });
      pr.snapshotSent += length;
      pr.snapshotDoneSent = done;
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    switch (m.type) {
      case "appendResp": {
        if (!pr) return;
        pr.recentActive = true;
        if (m.reject) {
          if (m.index === 0 && m.hintIndex === 0) return; // a stale-term reply, handled above
          let hint = m.hintIndex;
          if (m.hintTerm > 0) hint = this.findConflictByTerm(m.hintIndex, m.hintTerm);
          if (pr.state === "snapshot") return;
          if (pr.maybeDecrease(m.index, hint)) {
            if (pr.state === "replicate") pr.becomeProbe();
            this.sendAppend(m.from);
          }
          return;
        }
        const wasSnapshot = pr.state === "snapshot";
        const updated = pr.maybeUpdate(m.index);
        if (pr.state === "probe" || (wasSnapshot && pr.match >= pr.snapshotIndex))
          pr.becomeReplicate();
        else if (wasSnapshot) return;
        if (updated && this.maybeCommit()) this.broadcastAppend();
        else if (pr.next <= this.lastIndex()) this.sendAppend(m.from);
        if (m.from === this.leadTransferee && pr.match === this.lastIndex()) {
          this.send({ type: "timeoutNow", from: this.id, to: m.from, term: this.term });
        }
        return;
      }
      case "snapshotResp": {
        if (pr?.state !== "snapshot" || m.snapshotIndex !== pr.snapshotIndex) return;
        pr.recentActive = true;
        if (m.reject) pr.rewindSnapshot(m.received);
        else pr.snapshotAcked = Math.max(pr.snapshotAcked, m.received);
        this.sendSnapshotPieces(m.from, pr);
        return;
      }
      case "heartbeatResp": {
        if (!pr) return;
        pr.recentActive = true;
        pr.probeSent = false;
        if (pr.state === "snapshot") {
          // The follower is alive but pieces may have been lost: resume from what it confirmed.
          pr.rewindSnapshot(pr.snapshotAcked);
          this.sendSnapshotPieces(m.from, pr);
        } else if (pr.match < this.lastIndex()) {
          // Appends that filled the window may all have been lost: an empty append draws an
          // answer that either frees the window or, rejected, sends the follower back to probing.
          if (pr.state === "replicate" && pr.isPaused(this.maxInflight))
            this.sendEmptyAppend(m.from, pr);
          else this.sendAppend(m.from);
        }
        if (m.context) this.ackRead(m.context, m.from);
        return;
      }
      default:
        return;
    }
  }

  private handleReadIndex(context: string, from: NodeId): void {
    // Until an entry of this term commits, this leader's commit index may be behind.
    if (this.termAt(this.commit) !== this.term) {
      this.readsAwaitingCommit.push({ context, from });
      return;
    }
    this.startRead(context, from);
  }

  private releaseReadsAwaitingCommit(): void {
    if (this.readsAwaitingCommit.length === 0 || this.termAt(this.commit) !== this.term) return;
    for (const read of this.readsAwaitingCommit.splice(0)) this.startRead(read.context, read.from);
  }

  private startRead(context: string, from: NodeId): void {
    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {
      this.answerRead(context, this.commit, from);
      return;
    }
    // A round whose heartbeats have not left yet confirms this read too: every answer to it
    // is sent after they leave, so after this read arrived. Concurrent reads then cost one
    // round of messages, not one each.
    const round = this.unsentReadRound ?? context;
    this.pendingReads.push({ context, round, index: this.commit, from, acks: new Set([this.id]) });
    if (this.unsentReadRound !== undefined) return;
    this.unsentReadRound = context;
    this.broadcastHeartbeat(context);
  }

  /** A heartbeat answer for round `round` confirms leadership for its reads and every earlier one. */
  private ackRead(round: string, from: NodeId): void {
    let at = -1;
    for (let i = 0; i < this.pendingReads.length; i++)
      if (this.pendingReads[i]!.round === round) at = i;
    if (at < 0 || !this.conf.voters.includes(from)) return;
    const read = this.pendingReads[at]!;
    read.acks.add(from);
    const granted = this.conf.voters.filter((id) => read.acks.has(id)).length;
    if (granted < quorum(this.conf.voters.length)) return;
    for (const done of this.pendingReads.splice(0, at + 1))
      this.answerRead(done.context, done.index, done.from);
  }

  private answerRead(context: string, index: number, from: NodeId): void {
    if (from === this.id) this.readStates.push({ index, context });
    else
      this.send({
        type: "readIndexResp",
        from: this.id,
        to: from,
        term: this.term,
        context,
        index,
      });
  }

  private send(m: Message): void {
    this.msgs.push(m);
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
