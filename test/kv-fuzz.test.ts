/**
 * Fuzzing the plaintext protocol against a real node: random bytes and random command lines
 * never crash it; every line gets exactly one reply, or the connection is closed with a reason.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { KvProcessCluster } from "./helpers/kv-cluster.ts";

const cluster = new KvProcessCluster(1);
before(async () => {
  await cluster.start();
  await cluster.leader(5000);
});
after(async () => {
  await cluster.close();
});

/** Sends `payload` in one write, closes our side, and returns every byte the node sent back. */
function exchange(payload: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: cluster.clientPorts[0]! });
    let out = "";
    socket.on("data", (chunk) => {
      out += chunk.toString("latin1");
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(out));
    socket.end(payload);
  });
}

const commandLine = fc.oneof(
  fc
    .tuple(
      fc.constantFrom("GET", "get", "SET", "Set", "DELETE", "delete", "FROB", ""),
      fc.string({ maxLength: 12 }),
      fc.string({ maxLength: 20 }),
    )
    .map(([name, key, value]) => `${name} ${key} ${value}`.replace(/\n/g, " ")),
  fc.string({ maxLength: 40 }).map((s) => s.replace(/\n/g, "")),
  fc
    .uint8Array({ maxLength: 60 })
    .map((bytes) => Buffer.from(bytes).toString("latin1").replace(/\n/g, "")),
);

test("every line gets exactly one reply, whatever it holds", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(commandLine, { minLength: 1, maxLength: 30 }),
      fc.boolean(),
      async (lines, crlf) => {
        const payload = Buffer.from(
          lines.map((l) => `${l}${crlf ? "\r" : ""}\n`).join(""),
          "latin1",
        );
        const out = await exchange(payload);
        const replies = out.split("\n").slice(0, -1);
        assert.equal(
          replies.length,
          lines.length,
          `replies for ${JSON.stringify(lines)}: ${JSON.stringify(out)}`,
        );
        for (const reply of replies) assert.match(reply, /^(OK|NOT_FOUND|VALUE .*|ERR .+)$/s);
      },
    ),
    { numRuns: 150 },
  );
});

test("raw random bytes never crash the node; an over-long line closes with a reason", async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
      const out = await exchange(Buffer.from(bytes));
      const lines = Buffer.from(bytes).toString("latin1").split("\n").length - 1;
      assert.ok(out.split("\n").length - 1 <= lines, "never more replies than lines");
    }),
    { numRuns: 100 },
  );
  const long = await exchange(
    Buffer.concat([
      Buffer.from("SET k "),
      Buffer.alloc(1024 * 1024 + 1, 0x61),
      Buffer.from("\nGET k\n"),
    ]),
  );
  assert.equal(long, "ERR line too long\n");
  assert.equal(await cluster.request(0, "SET alive yes"), "OK", "the node still serves");
  assert.equal(await cluster.request(0, "GET alive"), "VALUE yes");
});
