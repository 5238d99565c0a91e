/**
 * `sandstore demo election`: how the group picks a leader. The leader goes away (killed on a
 * cluster the demo started; handed over on request on one it did not), a follower whose
 * election timer fires asks for votes in a higher term, a majority grants them, and the old
 * leader comes back as a follower of the new term.
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

export const electionDemo: Demo = {
  name: "election",
  summary: "the leader goes away; a follower wins an election in a higher term",
  steps: 5,
  async run(context: DemoContext) {
    const { cluster, narrator } = context;
    await narrator.step(
      "The group and its leader",
      [
        "Every member of the Raft group is a leader, a follower or a candidate. One leader per term",
        "takes every change, appends it to its log and tells the followers; a change commits once",
        "a majority has it.",
      ],
      "the dashboard's Leadership lanes: one green lane, the others blue.",
    );
    await showMembers(context);
    const first = await awaitLeader(context, "a leader");
    narrator.say(`${first.id} leads in term ${first.term}.`);

    await narrator.step(
      "Write through the leader",
      ["Ten files are written. Each is acknowledged only after a majority has its metadata."],
      "the commit index grow on every member, the throughput chart move.",
    );
    await withClient(context, (client) => writeFiles(context, client, "before", 10));
    narrator.say(`10 files acknowledged; ${context.writes.count} in all.`);

    const successor = cluster.ids.find((id) => id !== first.id) ?? first.id;
    const byDemo = cluster.faultsBy === "demo";
    await narrator.step(
      byDemo ? `Kill the leader, ${first.id}` : `Ask ${first.id} to hand over to ${successor}`,
      byDemo
        ? [
            `${first.id} gets SIGKILL: no goodbye, its heartbeats just stop. Each follower waits out`,
            "its own randomized election timeout, so usually one times out first, becomes a",
            "candidate in the next term and asks the others for their votes. A member grants its",
            "vote only to a candidate whose log is at least as complete as its own.",
          ]
        : [
            `${first.id} brings ${successor} up to date, then tells it to start an election at once`,
            "(TransferLeadership, as etcd's move-leader). It wins a higher term.",
          ],
      "the green lane move to another member, and the term go up by one or more.",
    );
    const started = performance.now();
    if (byDemo) await cluster.crash(first.id);
    else if (!(await cluster.transferLeadership(first.id, successor)))
      throw new Error(`${first.id} refused to hand leadership over to ${successor}`);
    const next = await awaitLeader(context, "a new leader", {
      except: first.id,
      aboveTerm: first.term,
    });
    narrator.say(
      `${next.id} won the election of term ${next.term}, ${elapsed(started)} after the leader went.`,
    );
    await showMembers(context);

    await narrator.step(
      "Write through the new leader",
      [
        "Five more files. The clients found the new leader themselves: a follower answers with its address.",
      ],
      "the commit index grow again from the new leader.",
    );
    await withClient(context, (client) => writeFiles(context, client, "after", 5));
    narrator.say(`5 more files acknowledged; ${context.writes.count} in all.`);

    await narrator.step(
      byDemo ? `Bring ${first.id} back` : `${first.id} as a follower`,
      [
        `${first.id} starts on its own log, hears from a leader of a higher term, and becomes its`,
        "follower: a term never goes back. The leader sends it what it missed.",
      ],
      `${first.id}'s lane turn blue and its applied index catch up.`,
    );
    if (byDemo) await cluster.restart(first.id);
    const states = await context.cluster.states();
    const leaderState = states.get(next.id);
    const target = leaderState?.commitIndex ?? 0;
    await waitFor(
      async () => {
        const state = (await cluster.states()).get(first.id);
        return state !== undefined && state.role !== "leader" && state.appliedIndex >= target;
      },
      `${first.id} to follow and apply up to ${target}`,
      context.patienceMs,
    );
    narrator.say(describeMember(first.id, (await cluster.states()).get(first.id)));
  },
};
