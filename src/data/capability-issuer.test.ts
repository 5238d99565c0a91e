import assert from "node:assert/strict";
import { test } from "node:test";
import { SandstoreError, UnavailableError } from "../common/errors.ts";
import { CapabilityIssuer, checkGraceCoversGrants } from "./capability-issuer.ts";
import { newCapabilityKey, signCapability } from "./chunk-capability.ts";

const chunk = (n: number) => n.toString(16).padStart(32, "0");

function issuerAt(clock: { now: number }) {
  return new CapabilityIssuer({ issuerId: "m1", lifetimeMs: 1000, now: () => clock.now });
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    (value) => `ran ${String(value)}`,
    (error) =>
      error instanceof UnavailableError
        ? "unavailable"
        : error instanceof SandstoreError
          ? error.code
          : String(error),
  );

test("a write is in flight from its grant until the grant expires or its commit settles", async () => {
  const clock = { now: 0 };
  const issuer = issuerAt(clock);
  const grant = issuer.grant(chunk(1), "write");
  assert.equal(grant.expiresAtMs, 1000);
  assert.equal(issuer.isWriteInFlight(chunk(1)), true);
  assert.equal(issuer.isWriteInFlight(chunk(2)), false);
  issuer.grant(chunk(2), "read");
  assert.equal(issuer.isWriteInFlight(chunk(2)), false, "a read grant is no write");
  let during = false;
  clock.now = 999;
  assert.equal(
    await outcome(
      issuer.commitGranted(grant.capability, chunk(1), async () => {
        clock.now = 5000;
        during = issuer.isWriteInFlight(chunk(1));
        return "commit";
      }),
    ),
    "ran commit",
  );
  assert.equal(during, true, "a commit under way outlives its grant's expiry");
  assert.equal(issuer.isWriteInFlight(chunk(1)), false, "forgotten once the commit settled");
  const late = issuer.grant(chunk(3), "write");
  clock.now += 1000;
  assert.equal(issuer.isWriteInFlight(chunk(3)), false);
  assert.equal(
    await outcome(issuer.commitGranted(late.capability, chunk(3), async () => "x")),
    "unavailable",
    "an expired grant is for the writer to retry with a new intent",
  );
});

test("a commit's capability must be genuine when it is this server's, and live when another's", async () => {
  const clock = { now: 0 };
  const issuer = issuerAt(clock);
  const foreignKey = newCapabilityKey("m2");
  const run = async () => "commit";
  const forged = signCapability(
    { id: issuer.key.id, secret: Buffer.alloc(32) },
    chunk(1),
    "write",
    900,
  );
  issuer.grant(chunk(1), "write");
  assert.equal(await outcome(issuer.commitGranted(forged.capability, chunk(1), run)), "EACCES");
  const read = issuer.grant(chunk(2), "read");
  assert.equal(await outcome(issuer.commitGranted(read.capability, chunk(2), run)), "EACCES");
  const mine = issuer.grant(chunk(4), "write");
  assert.equal(await outcome(issuer.commitGranted(mine.capability, chunk(5), run)), "EACCES");
  const theirs = signCapability(foreignKey, chunk(6), "write", 500);
  assert.equal(
    await outcome(issuer.commitGranted(theirs.capability, chunk(6), run)),
    "ran commit",
    "another metadata server's grant, after a failover, commits while it lives",
  );
  clock.now = 500;
  assert.equal(
    await outcome(issuer.commitGranted(theirs.capability, chunk(6), run)),
    "unavailable",
  );
  assert.equal(await outcome(issuer.commitGranted("garbage", chunk(6), run)), "EACCES");
});

test("garbage collection's grace must outlast a grant", () => {
  assert.throws(() => checkGraceCoversGrants(1000, 1000), RangeError);
  checkGraceCoversGrants(1001, 1000);
});
