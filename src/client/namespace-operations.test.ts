import assert from "node:assert/strict";
import { test } from "node:test";
import { FileType } from "../gen/sandstore/v1/metadata.ts";
import type { NodeServer } from "../server/node-server.ts";
import { MemoryTransport } from "../transport/memory-transport.ts";
import { ClusterCaller } from "./cluster-caller.ts";
import { DIR_PAGE_ENTRIES, NamespaceOperations } from "./namespace-operations.ts";

test("opendir fetches one page at a time as it is iterated, each after the last name seen", async () => {
  const transport = new MemoryTransport();
  const names = ["a", "b", "c", "d", "e"];
  const asked: Array<{ afterName: string; limit: number }> = [];
  const listener = await transport.listen("memory:0", {
    readDir: async (request: { afterName: string; limit: number }) => {
      asked.push({ afterName: request.afterName, limit: request.limit });
      const rest = names.filter((name) => name > request.afterName);
      const page = rest.slice(0, 2);
      return {
        entries: page.map((name, i) => ({
          name,
          inode: { id: 10 + i, type: FileType.FILE_TYPE_REGULAR, size: 0 },
        })),
        done: page.length === rest.length,
      };
    },
  } as unknown as NodeServer);
  const caller = new ClusterCaller({ cluster: [listener.address], transport });
  const namespace = new NamespaceOperations(caller);
  const seen: string[] = [];
  for await (const entry of namespace.opendir("/d")) {
    seen.push(entry.name);
    if (entry.name === "a")
      assert.equal(asked.length, 1, "the second page waits until it is needed");
  }
  assert.deepEqual(seen, names);
  assert.deepEqual(
    asked.map((a) => a.afterName),
    ["", "b", "d"],
  );
  assert.ok(asked.every((a) => a.limit === DIR_PAGE_ENTRIES));
  assert.deepEqual(
    (await namespace.readdir("/d")).map((entry) => entry.name),
    names,
  );
  caller.close();
  await listener.close();
});
