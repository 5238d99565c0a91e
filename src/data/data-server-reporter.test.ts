import assert from "node:assert/strict";
import { test } from "node:test";
import { SandstoreError } from "../common/errors.ts";
import { waitFor } from "../common/wait-for.ts";
import { newCapabilityKey, signCapability } from "./chunk-capability.ts";
import { ChunkGrantBook } from "./chunk-grant-book.ts";
import { DataServerReporter } from "./data-server-reporter.ts";

const chunk = (n: number) => n.toString(16).padStart(32, "0");

test("a data server learns each metadata server's key from its reports, and asks at once for a new one", async () => {
  const keys = new Map([["127.0.0.1:1", newCapabilityKey("m1")]]);
  const sent: string[] = [];
  const reporter = new DataServerReporter({
    metadataServers: () => ["127.0.0.1:1", "127.0.0.1:2"],
    report: (address) => ({
      id: "d1",
      address,
      freeBytes: 1,
      totalBytes: 2,
      chunkCount: 0,
      chunkBytes: 0,
    }),
    send: async (to, report) => {
      sent.push(`${to} ${report.address}`);
      const key = keys.get(to);
      if (!key) throw new Error(`${to} is down`);
      return {
        metadataId: key.id.split(".")[0] ?? "",
        key,
        metadataServers: ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"],
      };
    },
    intervalMs: 3_600_000,
  });
  const m1 = keys.get("127.0.0.1:1")!;
  const grant = signCapability(m1, chunk(1), "read", Date.now() + 60_000);
  await assert.rejects(
    reporter.checkCapability(grant.capability, chunk(1), "read"),
    (error) => error instanceof SandstoreError && error.code === "EACCES",
    "nothing is known before the server has started",
  );
  reporter.start("127.0.0.1:9");
  await reporter.reportNow();
  assert.ok(sent.includes("127.0.0.1:1 127.0.0.1:9"));
  await reporter.checkCapability(grant.capability, chunk(1), "read");
  assert.equal(reporter.failuresTotal >= 1, true, "the silent metadata server is counted");
  assert.deepEqual(
    reporter.metadataServersHeard(60_000),
    [{ id: "m1", address: "127.0.0.1:1" }],
    "only the metadata server that answered, by the id it answered with",
  );
  assert.deepEqual(
    reporter.metadataServersListed(),
    ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"],
    "the group as the answer lists it, a server added since included",
  );
  // m2 starts: its first grant names a key the data server has not seen yet.
  const m2 = newCapabilityKey("m2");
  keys.set("127.0.0.1:2", m2);
  const before = sent.length;
  await reporter.checkCapability(
    signCapability(m2, chunk(2), "write", Date.now() + 60_000).capability,
    chunk(2),
    "write",
  );
  assert.ok(sent.length > before, "an unknown key triggered a report round");
  await assert.rejects(
    reporter.checkCapability(
      signCapability(newCapabilityKey("m3"), chunk(3), "read", Date.now() + 60_000).capability,
      chunk(3),
      "read",
    ),
    /no metadata server holds/,
  );
  await reporter.stop();
});

test("inventories go to every metadata server after a report, and a refusal is counted", async () => {
  const events: string[] = [];
  const key = newCapabilityKey("m1");
  const listing = [{ id: chunk(1), size: 3, checksum: 0, writtenAtMs: 1 }];
  const reporter = new DataServerReporter({
    metadataServers: () => ["127.0.0.1:1", "127.0.0.1:2"],
    report: (address) => ({
      id: "d1",
      address,
      freeBytes: 1,
      totalBytes: 2,
      chunkCount: 1,
      chunkBytes: 3,
    }),
    send: async (to) => {
      events.push(`report ${to}`);
      return { metadataId: "m1", key, metadataServers: [] };
    },
    intervalMs: 3_600_000,
    inventory: {
      list: async () => listing,
      send: async (to, chunks) => {
        events.push(`inventory ${to} ${chunks.length}`);
        if (to.endsWith(":2")) throw new Error("m2 refused it");
      },
      intervalMs: 3_600_000,
    },
    onError: () => {},
  });
  reporter.start("127.0.0.1:9");
  await waitFor(
    () => reporter.inventoriesTotal + reporter.inventoryFailuresTotal === 2,
    "an inventory round",
  );
  const firstInventory = events.findIndex((event) => event.startsWith("inventory"));
  assert.ok(events.slice(0, firstInventory).includes("report 127.0.0.1:1"), "a report went first");
  assert.ok(
    events.includes("inventory 127.0.0.1:1 1") && events.includes("inventory 127.0.0.1:2 1"),
  );
  assert.equal(reporter.inventoriesTotal, 1);
  assert.equal(reporter.inventoryFailuresTotal, 1);
  await reporter.stop();
});

test("a client's grant book answers live grants, a write grant for reads too", () => {
  const clock = { now: 0 };
  const book = new ChunkGrantBook(() => clock.now);
  const key = newCapabilityKey("m1");
  book.remember(
    [signCapability(key, chunk(1), "write", 100), signCapability(key, chunk(2), "read", 50)],
    [{ id: "d1", address: "127.0.0.1:5" }],
  );
  assert.equal(book.grant(chunk(1), "read")?.operation, "write");
  assert.equal(book.grant(chunk(1), "delete")?.operation, "write");
  assert.equal(book.grant(chunk(2), "write"), undefined);
  assert.equal(book.grant(chunk(2), "read")?.operation, "read");
  assert.equal(book.addressOf("d1"), "127.0.0.1:5");
  clock.now = 60;
  assert.equal(book.grant(chunk(2), "read"), undefined, "expired");
});
