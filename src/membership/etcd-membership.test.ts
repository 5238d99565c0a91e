import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Etcd3 } from "etcd3";
import { EtcdServer } from "../../test/helpers/etcd-server.ts";
import { waitFor } from "../common/wait-for.ts";
import { EtcdMembership, parseEtcdLocation, parseRegistration } from "./etcd-membership.ts";
import type { NodeRole } from "./membership.ts";

test("etcd locations and registrations are checked: bad ones are refused, naming what is wrong", () => {
  assert.deepEqual(parseEtcdLocation("etcd://127.0.0.1:2379"), {
    endpoints: ["127.0.0.1:2379"],
    prefix: "/sandstore",
  });
  assert.deepEqual(parseEtcdLocation("etcd://a:1,b:2/prod/files/"), {
    endpoints: ["a:1", "b:2"],
    prefix: "/prod/files",
  });
  assert.throws(() => parseEtcdLocation("http://a:1"), /is not etcd:\/\//);
  assert.throws(() => parseEtcdLocation("etcd://a"), /endpoint "a" is not host:port/);
  assert.throws(() => parseEtcdLocation("etcd://a:1/bad prefix"), /prefix/);
  const good = JSON.stringify({ id: "n1", address: "h:1", roles: ["data"], freeBytes: 5 });
  assert.deepEqual(parseRegistration("n1", good), {
    id: "n1",
    address: "h:1",
    roles: ["data"],
    freeBytes: 5,
  });
  for (const [id, value] of [
    ["n2", good],
    ["n1", "not json"],
    ["n1", JSON.stringify({ id: "n1", address: "h", roles: ["data"] })],
    ["n1", JSON.stringify({ id: "n1", address: "h:1", roles: [] })],
    ["n1", JSON.stringify({ id: "n1", address: "h:1", roles: ["root"] })],
    ["n1", JSON.stringify({ id: "n1", address: "h:1", roles: ["data"], freeBytes: -1 })],
    ["bad id!", good],
    ["n1", "x".repeat(2000)],
  ] as const)
    assert.equal(parseRegistration(id, value), undefined, `${id} ${value.slice(0, 60)}`);
});

describe("etcd membership against a real etcd", () => {
  const etcd = new EtcdServer();
  const open: EtcdMembership[] = [];
  before(() => etcd.start());
  after(async () => {
    await Promise.all(open.map((m) => m.close()));
    await etcd.stop();
  });
  const member = async (id: string, roles: NodeRole[], prefix = "/test") => {
    const membership = new EtcdMembership({
      self: { id, address: `127.0.0.1:${7000 + Number(id.slice(1))}`, roles },
      location: { endpoints: [etcd.endpoint], prefix },
      ttlSeconds: 2,
      freeBytes: () => 1000,
      reportIntervalMs: 200,
      onError: () => {},
    });
    await membership.start();
    open.push(membership);
    return membership;
  };
  const ids = (m: EtcdMembership, role?: NodeRole) => m.liveMembers(role).map((n) => n.id);

  test("nodes join and see each other; one that leaves is gone at once; a killed one when its lease ends", async () => {
    const n1 = await member("n1", ["metadata", "data"]);
    const n2 = await member("n2", ["data"]);
    await waitFor(() => ids(n1).join() === "n1,n2", "n1 to see n2");
    assert.deepEqual(ids(n2, "metadata"), ["n1"], "roles come with the registration");
    assert.equal(n2.members().find((m) => m.id === "n1")?.freeBytes, 1000);
    assert.equal(n1.isStale(), false);
    await n2.close();
    open.splice(open.indexOf(n2), 1);
    await waitFor(() => ids(n1).join() === "n1", "n2's leave to be seen");
    // A killed node: kill -9 of a process registered as n3. Its registration stays until
    // its lease (2 s) runs out, then goes.
    const child = spawn(
      process.execPath,
      [
        ...["--import", "tsx", "--input-type=module", "-e"],
        `import { EtcdMembership } from ${JSON.stringify(join(import.meta.dirname, "etcd-membership.ts"))};
        const m = new EtcdMembership({ self: { id: "n3", address: "127.0.0.1:7003", roles: ["data"] },
          location: { endpoints: [${JSON.stringify(etcd.endpoint)}], prefix: "/test" }, ttlSeconds: 2 });
        await m.start();
        console.log("registered");
        setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (data) => String(data).includes("registered") && resolve());
      child.once("exit", (code) => reject(new Error(`n3's process exited with ${code}`)));
    });
    await waitFor(() => ids(n1).includes("n3"), "n1 to see n3");
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    const killedAt = Date.now();
    await waitFor(() => !ids(n1).includes("n3"), "n3's lease to expire", 20_000);
    assert.ok(Date.now() - killedAt >= 500, "not before its lease could have expired");
  });

  test("with etcd down the last view is kept and marked stale; after a restart it recovers", async () => {
    const a = await member("n4", ["data"], "/restart");
    const b = await member("n5", ["data"], "/restart");
    await waitFor(() => ids(a).join() === "n4,n5", "n4 to see n5");
    await etcd.kill();
    await waitFor(() => a.isStale(), "n4 to notice etcd is gone", 20_000);
    assert.deepEqual(ids(a), ["n4", "n5"], "no peer declared dead for etcd being away");
    await etcd.start();
    await waitFor(() => !a.isStale() && !b.isStale(), "both to reach etcd again", 30_000);
    // Both leases outlived the restart or were granted again: both are registered.
    const check = new Etcd3({ hosts: `http://${etcd.endpoint}` });
    try {
      await waitFor(
        async () =>
          Object.keys(await check.getAll().prefix("/restart/members/").strings()).length === 2,
        "both registrations back in etcd",
        30_000,
      );
    } finally {
      check.close();
    }
    assert.deepEqual(ids(a), ["n4", "n5"]);
  });
});
