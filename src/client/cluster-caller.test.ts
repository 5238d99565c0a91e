import assert from "node:assert/strict";
import { test } from "node:test";
import { UnavailableError } from "../common/errors.ts";
import type { NodeServer } from "../server/node-server.ts";
import { MemoryTransport } from "../transport/memory-transport.ts";
import { ClusterCaller } from "./cluster-caller.ts";

/** A node that answers status with its own name, and records that it was asked. */
async function node(transport: MemoryTransport, name: string, asked: string[]) {
  return transport.listen("memory:0", {
    status: async () => {
      asked.push(name);
      return { nodes: [], leaderId: name, topology: "test", chunkSize: 0 };
    },
  } as unknown as NodeServer);
}

test("an unavailable node sends the call to the next seed, each seed in turn, once per attempt", async () => {
  const transport = new MemoryTransport();
  const asked: string[] = [];
  const nodes = [
    await node(transport, "a", asked),
    await node(transport, "b", asked),
    await node(transport, "c", asked),
  ];
  const [a, b, c] = nodes.map((listener) => listener.address);
  if (!a || !b || !c) throw new Error("three nodes expected");
  const caller = new ClusterCaller({ cluster: [a, b, c], transport, retryForMs: 10_000 });
  transport.network.isolate(a);
  transport.network.isolate(b);
  const tried: string[] = [];
  const reply = await caller.query((connection) => {
    tried.push(connection.address);
    return connection.status({ withStateHash: false, withEvents: false });
  });
  assert.equal(reply.leaderId, "c");
  assert.deepEqual(tried, [a, b, c], "no seed is skipped: an attempt is counted once");
  transport.network.isolate(c);
  const quick = new ClusterCaller({ cluster: [a, b, c], transport, retryForMs: 300 });
  await assert.rejects(
    quick.query((connection) => connection.status({ withStateHash: false, withEvents: false })),
    (error: unknown) => error instanceof UnavailableError && error.errno === "EAGAIN",
    "past its deadline the caller fails with the last UnavailableError",
  );
  caller.close();
  quick.close();
  for (const listener of nodes) await listener.close();
});
