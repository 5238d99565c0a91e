/**
 * `sandstore demo partition`: a leader cut off from the rest of its group. It can no longer
 * commit anything, so nothing written through it is acknowledged; the majority elects a new
 * leader and goes on; after healing, the old leader learns the higher term and follows.
 */
import { waitFor } from "../common/wait-for.ts";
import {
  awaitLeader,
  type Demo,
  type DemoContext,
  describeMember,
  elapsed,
  showMembers,
  withClient,
  writeFiles,
} from "./demo.ts";

/** How long the cut-off leader's client keeps trying one write: the SDK gives up after it. */
const MINORITY_RETRY_MS = 3000;

export const partitionDemo: Demo = {
  name: "partition",
  summary: "the leader is cut off: it cannot commit, the majority elects another, the cut heals",
  steps: 4,
  async run(context: DemoContext) {
    const { cluster, narrator } = context;
    await narrator.step(
      "The group before the cut",
      ["Ten files are written through the leader."],
      "one green lane.",
    );
    await showMembers(context);
    const first = await awaitLeader(context, "a leader");
    await withClient(context, (client) => writeFiles(context, client, "before", 10));
    narrator.say(`${first.id} leads in term ${first.term}; 10 files acknowledged.`);

    await narrator.step(
      `Cut ${first.id} off from the other members`,
      [
        `${first.id} can still be reached by clients, but its messages to the others are lost, and`,
        "theirs to it. It is a minority of one: nothing it appends can reach a majority.",
      ],
      "the others' lanes: after an election timeout one of them turns green in a higher term.",
    );
    const cutAt = performance.now();
    await cluster.isolate(first.id);
    const next = await awaitLeader(context, "the majority to elect a leader", {
      except: first.id,
      aboveTerm: first.term,
    });
    narrator.say(
      `${next.id} leads the majority in term ${next.term}, ${elapsed(cutAt)} after the cut.`,
    );
    narrator.say(describeMember(first.id, (await cluster.states()).get(first.id)));

    await narrator.step(
      `Write through ${first.id} alone`,
      [
        `A client that can reach only ${first.id} tries to write. ${first.id} cannot commit it: either it`,
        "still thinks it leads and the entry waits for a majority that never answers, or it has",
        "stepped down and knows no leader. The client gives up; the write is not acknowledged.",
      ],
      "this write fail, while the majority's commit index goes on.",
    );
    const path = `${context.directory}/minority`;
    const refused = await withClient(
      context,
      async (client) => {
        try {
          await context.writes.write(client, path, Buffer.from("written to the minority\n"));
          return undefined;
        } catch (error) {
          return error instanceof Error ? error.message : String(error);
        }
      },
      [cluster.clientAddress(first.id)],
      MINORITY_RETRY_MS,
    );
    narrator.say(
      refused === undefined
        ? `The write through ${first.id} was acknowledged: it must survive the final check.`
        : `Not acknowledged: ${refused}`,
    );
    const majority = cluster.ids
      .filter((id) => id !== first.id)
      .map((id) => cluster.clientAddress(id));
    // Where the cut-off member holds chunks too (hyperconverged), the majority's leader must
    // first stop placing copies on it.
    await withClient(
      context,
      async (client) => {
        const row = (await client.status()).nodes.find((node) => node.id === first.id);
        if (!row?.roles.includes("data")) return;
        narrator.say(
          `The majority's leader places new chunks only on servers it hears from: it waits until ${first.id} has been silent for its suspicion time.`,
        );
        await waitFor(
          async () =>
            (await client.status()).nodes.find((node) => node.id === first.id)?.memberLive ===
            false,
          `${next.id} to count ${first.id} as down`,
          context.patienceMs,
        );
      },
      [cluster.clientAddress(next.id)],
    );
    await withClient(context, (client) => writeFiles(context, client, "majority", 5), majority);
    narrator.say(`5 files acknowledged through the majority; ${context.writes.count} in all.`);

    await narrator.step(
      "Heal the cut",
      [
        `${first.id} hears from ${next.id} in term ${next.term}, higher than its own: it becomes a follower,`,
        "and any entries it appended alone, never committed, are replaced by the leader's log.",
      ],
      `${first.id}'s lane turn blue; every member's applied index meet.`,
    );
    const healedAt = performance.now();
    await cluster.heal();
    await waitFor(
      async () => {
        const states = await cluster.states();
        const old = states.get(first.id);
        const leader = [...states.values()].find((s) => s?.role === "leader");
        return (
          old !== undefined &&
          leader !== undefined &&
          old.role === "follower" &&
          old.term === leader.term &&
          old.appliedIndex >= leader.commitIndex
        );
      },
      `${first.id} to follow the leader and catch up`,
      context.patienceMs,
    );
    narrator.say(`${first.id} follows again, ${elapsed(healedAt)} after healing.`);
    await showMembers(context);
  },
};
