import assert from "node:assert/strict";
import { test } from "node:test";
import { RateLimiter } from "./rate-limiter.ts";

test("a rate limiter lets the first charge through at once and spreads the rest at its rate", async () => {
  const limiter = new RateLimiter(1000);
  const started = Date.now();
  let through = false;
  const first = limiter.take(50).then(() => {
    through = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(through, "an idle limiter does not wait");
  await first;
  await limiter.take(50);
  await limiter.take(0);
  // The two charges before the last were 100 units at 1,000 per second: at least 100 ms.
  assert.ok(Date.now() - started >= 95, `waited ${Date.now() - started} ms`);
});

test("release ends a wait at once and every later one", async () => {
  const limiter = new RateLimiter(1);
  await limiter.take(3600);
  const waiting = limiter.take(1);
  limiter.release();
  await waiting;
  await limiter.take(3600);
});

test("a rate limiter refuses a rate or charge that is not a positive number", async () => {
  assert.throws(() => new RateLimiter(0), RangeError);
  assert.throws(() => new RateLimiter(Number.NaN), RangeError);
  await assert.rejects(new RateLimiter(1).take(-1), RangeError);
});
