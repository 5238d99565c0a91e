/**
 * What a leader knows of one follower's log, and how it paces messages to it.
 */

/**
 * probe: the leader does not know where the follower's log matches and sends one append at a
 * time until it finds out. replicate: appends are pipelined, up to the inflight limit.
 * snapshot: the follower is behind the leader's log and receives a snapshot.
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  /** Highest index known to match the leader's log. */
  match = 0;
  /** Next index to send. */
  next: number;
  state: ProgressState = "probe";
  /** In probe state: an append is out and not yet answered. */
  probeSent = false;
  /** In replicate state: last index of each append in flight, oldest first. */
  readonly inflight: number[] = [];
  /** Heard from since the last check-quorum round. */
  recentActive = true;
  /** In snapshot state: the snapshot being sent, bytes sent and acknowledged. */
  snapshotIndex = 0;
  snapshotSent = 0;
  snapshotAcked = 0;
  /** The last piece (marked done) is out; nothing more to send unless the stream rewinds. */
  snapshotDoneSent = false;

  constructor(next: number) {
    this.next = next;
  }

  becomeProbe(): void {
    this.state = "probe";
    this.probeSent = false;
    this.inflight.length = 0;
    this.next = Math.max(this.next, this.match + 1);
  }

  becomeReplicate(): void {
    this.state = "replicate";
    this.probeSent = false;
    this.inflight.length = 0;
    this.next = this.match + 1;
  }

  becomeSnapshot(index: number): void {
    this.state = "snapshot";
    this.probeSent = false;
    this.inflight.length = 0;
    this.snapshotIndex = index;
    this.snapshotSent = 0;
    this.snapshotAcked = 0;
    this.snapshotDoneSent = false;
  }

  /** Resends a snapshot from the last byte the follower confirmed (pieces were lost). */
  rewindSnapshot(to: number): void {
    this.snapshotSent = to;
    this.snapshotAcked = to;
    this.snapshotDoneSent = false;
  }

  /** Records an acknowledged index; false when it tells nothing new. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    while (this.inflight.length > 0 && this.inflight[0]! <= index) this.inflight.shift();
    return updated;
  }

  /**
   * Handles a rejection of the append at `rejected`; `hint` is where the follower's log may
   * match. Returns false when the rejection is stale (answers an older append).
   */
  maybeDecrease(rejected: number, hint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader must hold further appends to this follower. */
  isPaused(maxInflight: number): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflight.length >= maxInflight;
      case "snapshot":
        return true;
    }
  }
}
