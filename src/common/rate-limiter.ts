/**
 * Paces background work to a rate (bytes per second, say): each `take` charges an amount and
 * waits until the work charged before it fits the rate. Work under the rate never waits; a
 * burst is spread out behind it. `release` ends every wait at once, so a task can stop without
 * sitting out its debt.
 */
export class RateLimiter {
  /** When the work charged so far will have fit the rate, ms since the epoch. */
  private paidUntilMs = 0;
  private readonly waiting = new Set<() => void>();
  private released = false;

  /** `perSecond`: units of work per second, positive. */
  constructor(private readonly perSecond: number) {
    if (!(perSecond > 0) || !Number.isFinite(perSecond))
      throw new RangeError(`a rate must be a positive number, not ${perSecond}`);
  }

  /**
   * Charges `amount` (non-negative) and resolves when the work charged before it has fit the
   * rate: at once when the limiter has been idle.
   */
  async take(amount: number): Promise<void> {
    if (!(amount >= 0)) throw new RangeError(`a charge must be non-negative, not ${amount}`);
    const now = Date.now();
    const start = Math.max(now, this.paidUntilMs);
    this.paidUntilMs = start + (amount / this.perSecond) * 1000;
    if (start <= now || this.released) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, start - now);
      this.waiting.add(done);
    });
  }

  /** Ends every wait now, and every later one at once: for stopping the work it paces. */
  release(): void {
    this.released = true;
    for (const done of [...this.waiting]) done();
  }
}
