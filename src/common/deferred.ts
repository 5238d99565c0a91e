/**
 * A promise with its resolver, for an outcome one part of a program reports and another
 * waits for (Node 20 lacks `Promise.withResolvers`).
 */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  /** Settles the promise; later calls do nothing. */
  readonly resolve: (value: T) => void;
}

export function deferred<T>(): Deferred<T> {
  let settle: ((value: T) => void) | undefined;
  const promise = new Promise<T>((resolve) => {
    settle = resolve;
  });
  // The executor runs synchronously, so `settle` is set before this line.
  const resolve = settle;
  if (!resolve) throw new Error("promise executor did not run");
  return { promise, resolve };
}
