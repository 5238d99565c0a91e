/**
 * A background task run now and then every `intervalMs` after the previous run finished, so
 * runs never overlap. A failed run is reported to `onError` and the schedule goes on.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Runs once at once, then on the interval, until `stop`. */
  start(): void {
    this.schedule(0);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Cancels the next run and waits for the one in progress, if any. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.run()
        .catch((error) => this.onError(error))
        .finally(() => this.schedule(this.intervalMs));
    }, delayMs);
    this.timer.unref();
  }
}
