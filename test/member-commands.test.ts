/**
 * `sandstore member` against a real 3-node key-value cluster: list, remove a follower (writes
 * still commit on the two left), add it back (learner, then voter), and refusals named.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { kvRequest } from "../src/kv/kv-client.ts";
import { KvProcessCluster } from "./helpers/kv-cluster.ts";
import { runCli } from "./helpers/node-process.ts";

const cluster = new KvProcessCluster(3);
before(() => cluster.start());
after(() => cluster.close());

const nodes = () => cluster.raftPorts.map((port) => `127.0.0.1:${port}`).join(",");
const seeds = () => [0, 1, 2].map((i) => cluster.clientAddress(i));

/** `sandstore member ARGS` as the cluster's operator, with its token. */
const member = (...args: string[]) =>
  runCli(["member", ...args, "--nodes", nodes(), "--cluster-token", cluster.token]);

async function members(): Promise<string> {
  const run = await member("list");
  assert.equal(run.code, 0, run.stderr);
  return run.stdout.toString();
}

test("member list, remove and add: the group shrinks, still commits, and takes the node back", async () => {
  const leader = await cluster.leader();
  assert.match(await members(), /voters: n1 n2 n3; learners: none/);
  const follower = `n${((leader + 1) % 3) + 1}`;
  const removed = await member("remove", follower);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(
    await members(),
    new RegExp(`voters: ${["n1", "n2", "n3"].filter((n) => n !== follower).join(" ")};`),
  );
  assert.equal(await kvRequest(seeds(), "SET while-out 1"), "OK");
  const added = await member("add", follower);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout.toString(), new RegExp(`added ${follower} as a voter`));
  assert.match(await members(), /voters: n1 n2 n3; learners: none/);
});

test("member refuses what it cannot do, naming it", async () => {
  const unknown = await member("remove", "n9");
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /n9 is not a configured peer/);
  const bad = await runCli([
    "member",
    "list",
    "--nodes",
    "nowhere",
    "--cluster-token",
    "x".repeat(32),
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /"nowhere" is not host:port/);
  const tokenless = await runCli(["member", "list", "--nodes", nodes()]);
  assert.equal(tokenless.code, 2, "no credentials is a usage error");
  assert.match(tokenless.stderr, /needs the cluster token/);
  const wrong = await runCli([
    "member",
    "list",
    "--nodes",
    nodes(),
    "--cluster-token",
    "f".repeat(32),
  ]);
  assert.equal(wrong.code, 1, wrong.stderr);
  assert.match(wrong.stderr, /permission denied \(admin service: wrong cluster token\)/);
  assert.doesNotMatch(wrong.stderr, new RegExp(cluster.token), "no secret is echoed");
});
