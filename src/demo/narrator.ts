/**
 * How a demo talks to the person running it: numbered steps, each saying what is about to
 * happen and what to watch for, then what happened. With a pause function (`--step`) it waits
 * before each step's action, so the person can look at the dashboard first.
 */

/** Where the narration goes, and how to wait for the person (absent: no waiting). */
export interface NarratorOptions {
  /** Writes one line (no newline in it). */
  readonly write: (line: string) => void;
  /** Resolves when the person wants the next step (Enter). */
  readonly pause?: () => Promise<void>;
}

export class Narrator {
  private current = 0;

  /** `steps` is how many steps the demo has, for "Step 2 of 5". */
  constructor(
    private readonly steps: number,
    private readonly o: NarratorOptions,
  ) {}

  /**
   * Starts the next step: its title, what it does and why, what to watch for; then, with a
   * pause function, waits for the person.
   */
  async step(title: string, explain: readonly string[], watch: string): Promise<void> {
    this.current++;
    this.o.write("");
    this.o.write(`Step ${this.current} of ${this.steps}: ${title}`);
    for (const line of explain) this.o.write(`  ${line}`);
    this.o.write(`  Watch: ${watch}`);
    if (this.o.pause) {
      this.o.write("  (Enter to go on)");
      await this.o.pause();
    }
  }

  /** One line of what happened. */
  say(line: string): void {
    this.o.write(`  ${line}`);
  }
}
