/**
 * The register workload: clients doing SET, GET and DELETE on a few keys through the
 * plaintext protocol of the key-value topology, each against a node of its choosing, with a
 * deadline on every reply. The history is checked against the register model.
 */
import { KvConnection } from "../kv/kv-client.ts";
import { pick } from "../raft/core/random.ts";
import type { ChaosCluster } from "./chaos-cluster.ts";
import type { History } from "./history.ts";

export const REGISTER_KEYS = ["a", "b", "c"];
/** A reply later than this leaves the operation's outcome unknown. */
const REPLY_TIMEOUT_MS = 3000;

/** Runs `clients` clients until `until()` is false; `random` is the run's seeded source. */
export async function runRegisterWorkload(
  cluster: ChaosCluster,
  history: History,
  clients: number,
  random: () => number,
  until: () => boolean,
): Promise<void> {
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      let node = client % cluster.ids.length;
      while (until() && !history.isFull) {
        if (random() < 0.2) node = Math.floor(random() * cluster.ids.length);
        const roll = random();
        const kind = roll < 0.45 ? "get" : roll < 0.9 ? "set" : "del";
        await operate(cluster, history, client, node, kind, pick(random, REGISTER_KEYS));
      }
    }),
  );
}

/** One operation, recorded; a final read of every key uses it too. */
export async function operate(
  cluster: ChaosCluster,
  history: History,
  client: number,
  node: number,
  kind: "get" | "set" | "del",
  key: string,
): Promise<void> {
  const op = history.invoke(client, key, kind, (id) => `v${id}`);
  const value = op.value;
  const line =
    kind === "get" ? `GET ${key}` : kind === "set" ? `SET ${key} ${value}` : `DELETE ${key}`;
  let connection: KvConnection;
  try {
    connection = await KvConnection.open(cluster.clientAddress(node), 1000);
  } catch (error) {
    history.complete(op, "fail", null, `not connected: ${String(error)}`);
    return;
  }
  let reply: string;
  try {
    reply = await Promise.race([
      connection.request(line),
      new Promise<string>((done) => setTimeout(() => done("(no reply)"), REPLY_TIMEOUT_MS)),
    ]);
  } catch (error) {
    reply = `(lost: ${String(error)})`;
  } finally {
    connection.close();
  }
  if (reply === "OK") history.complete(op, "ok", "ok", reply);
  else if (reply === "NOT_FOUND") history.complete(op, "ok", null, reply);
  else if (reply.startsWith("VALUE ")) history.complete(op, "ok", reply.slice(6), reply);
  // Refused before it was proposed: it did not happen.
  else if (/^ERR (NOT_LEADER|NO_LEADER|usage)/.test(reply))
    history.complete(op, "fail", null, reply);
  // A read without an answer has no effect; a write may have happened.
  else history.complete(op, kind === "get" ? "fail" : "unknown", null, reply);
}
