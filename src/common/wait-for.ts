/**
 * Waiting for a condition with a deadline, never a fixed sleep: for tests and harnesses that
 * watch real processes.
 */

/** Resolves once `condition` holds, polling every 25 ms; fails naming `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
