/**
 * Eight clients do SET/GET/DELETE on a few keys for 30 s while the leader is killed and
 * restarted every few seconds; the recorded history must be linearizable (which also means no
 * acknowledged SET is lost: the final reads must see it or a later write).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { KvConnection } from "../src/kv/kv-client.ts";
import { checkLinearizable, type HistoryOperation } from "../src/raft/testing/linearizability.ts";
import { KvProcessCluster } from "./helpers/kv-cluster.ts";

const KEYS = ["a", "b", "c"];
const DURATION_MS = 30_000;
/** Leader kills the nemesis makes at the least, however long they take. */
const MIN_KILLS = 5;

test("8 clients for 30 s with the leader killed and restarted: the history is linearizable", {
  timeout: 240_000,
}, async (t) => {
  const cluster = new KvProcessCluster(3);
  await cluster.start();
  const history: HistoryOperation[] = [];
  let clock = 0;
  let nextId = 1;
  let kills = 0;
  const stopAt = Date.now() + DURATION_MS;
  /** Clients run until the nemesis is done: at least DURATION_MS and MIN_KILLS kills. */
  let nemesisDone = false;

  /** One operation against node `node`; records it unless it certainly did not happen. */
  async function operate(
    client: number,
    node: number,
    kind: HistoryOperation["kind"],
    key: string,
  ): Promise<void> {
    const value = `c${client}-${nextId}`;
    const op: HistoryOperation = {
      id: nextId++,
      key,
      kind,
      value,
      call: clock++,
      returned: undefined,
      result: undefined,
    };
    const line =
      kind === "get" ? `GET ${key}` : kind === "set" ? `SET ${key} ${value}` : `DELETE ${key}`;
    let reply: string;
    let connection: KvConnection;
    try {
      connection = await KvConnection.open(cluster.clientAddress(node), 1000);
    } catch {
      return; // never sent: it did not happen
    }
    try {
      reply = await Promise.race([
        connection.request(line),
        new Promise<string>((r) => setTimeout(() => r("(no reply)"), 7000)),
      ]);
    } catch {
      reply = "(lost)"; // sent, then the connection died: the outcome is unknown
    } finally {
      connection.close();
    }
    if (reply === "OK" || reply === "NOT_FOUND" || reply.startsWith("VALUE ")) {
      op.returned = clock++;
      op.result = reply === "OK" ? "ok" : reply === "NOT_FOUND" ? null : reply.slice(6);
      history.push(op);
    } else if (/^ERR (NOT_LEADER|NO_LEADER|usage)/.test(reply)) {
      // Refused before it was proposed, or its entry was replaced: it did not happen.
    } else if (kind !== "get") {
      history.push(op); // a write that timed out or lost its connection: outcome unknown
    }
  }

  const clients = Array.from({ length: 8 }, async (_, client) => {
    let node = client % 3;
    while (!nemesisDone) {
      const roll = Math.random();
      const kind = roll < 0.45 ? "get" : roll < 0.9 ? "set" : "del";
      if (!cluster.isRunning(node)) node = (node + 1) % 3;
      await operate(client, node, kind, KEYS[Math.floor(Math.random() * KEYS.length)]!);
      if (Math.random() < 0.2) node = Math.floor(Math.random() * 3);
    }
  });

  const nemesis = (async () => {
    // Kills go on past the duration until there were enough of them: a loaded machine slows
    // each restart, and the test must not pass or fail on how many fit in 30 s.
    while (Date.now() < stopAt - 4000 || kills < MIN_KILLS) {
      await new Promise((r) => setTimeout(r, 2500 + Math.random() * 1500));
      const leader = await cluster.leader(5000).catch(() => undefined);
      if (leader === undefined) continue;
      await cluster.kill(leader);
      kills++;
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 1000));
      await cluster.startNode(leader);
    }
    // Clients keep going a moment after the last restart, so it is exercised too.
    await new Promise((r) => setTimeout(r, 2000));
    nemesisDone = true;
  })();

  try {
    await Promise.all([...clients, nemesis]);
    const leader = await cluster.leader(10_000);
    for (const key of KEYS) await operate(99, leader, "get", key);
    const completed = history.filter((op) => op.returned !== undefined).length;
    t.diagnostic(
      `${history.length} operations recorded (${completed} completed), ${kills} leader kills`,
    );
    assert.ok(kills >= MIN_KILLS, `the nemesis killed the leader ${kills} times`);
    assert.ok(completed > 200, `only ${completed} operations completed`);
    const verdict = checkLinearizable(history, 60_000);
    assert.deepEqual(
      verdict.ok,
      true,
      `not linearizable: ${JSON.stringify(verdict).slice(0, 2000)}`,
    );
  } finally {
    await cluster.close();
  }
});
