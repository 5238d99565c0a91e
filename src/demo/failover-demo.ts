/**
 * `sandstore demo failover`: what clients see when the leader dies under load. A writer keeps
 * writing files while the leader is killed; its writes stall for about an election timeout,
 * then go on through the new leader. The demo measures the gap between the last write
 * acknowledged before and the first after.
 */
import { demoFileContents } from "./acknowledged-writes.ts";
import {
  awaitLeader,
  DEMO_FILE_BYTES,
  type Demo,
  type DemoContext,
  elapsed,
  showMembers,
  withClient,
} from "./demo.ts";

/** Acknowledged writes the writer makes after the new leader is found, before it stops. */
const WRITES_AFTER = 20;
/** Most files the writer makes, whatever happens: a bound on a demo's disk use. */
const MAX_WRITES = 5000;

/** A loop writing one file after another, timing each acknowledgement. */
class Writer {
  readonly acknowledgedAt: number[] = [];
  readonly failures: string[] = [];
  private stopping = false;
  private done: Promise<void> | undefined;

  constructor(private readonly context: DemoContext) {}

  start(): void {
    this.done = withClient(this.context, async (client) => {
      for (let i = 0; !this.stopping && i < MAX_WRITES; i++) {
        const path = `${this.context.directory}/load-${String(i).padStart(4, "0")}`;
        try {
          await this.context.writes.write(client, path, demoFileContents(path, DEMO_FILE_BYTES));
          this.acknowledgedAt.push(performance.now());
        } catch (error) {
          // A write that failed through the election is not acknowledged, so nothing is owed
          // on it; it is counted and shown.
          this.failures.push(`${path}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    });
  }

  /** Resolves once `count` more writes than now are acknowledged. */
  async acknowledged(count: number, timeoutMs: number): Promise<void> {
    const target = this.acknowledgedAt.length + count;
    const deadline = Date.now() + timeoutMs;
    while (this.acknowledgedAt.length < target) {
      if (Date.now() > deadline)
        throw new Error(
          `the writer had ${this.acknowledgedAt.length} of ${target} writes acknowledged after ${timeoutMs} ms; last failure: ${this.failures.at(-1) ?? "none"}`,
        );
      await new Promise((tick) => setTimeout(tick, 25));
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }
}

export const failoverDemo: Demo = {
  name: "failover",
  summary: "the leader is killed under a steady stream of writes; they stall, then go on",
  steps: 4,
  async run(context: DemoContext) {
    const { cluster, narrator } = context;
    await narrator.step(
      "A writer under way",
      ["A client writes one small file after another, as fast as the cluster acknowledges them."],
      "the throughput chart: a steady line.",
    );
    await showMembers(context);
    const first = await awaitLeader(context, "a leader");
    const writer = new Writer(context);
    writer.start();
    try {
      await writer.acknowledged(20, context.patienceMs);
      narrator.say(`${writer.acknowledgedAt.length} writes acknowledged; ${first.id} leads.`);

      await narrator.step(
        `Kill the leader, ${first.id}, while it writes`,
        [
          "Writes in flight at the leader get no answer. The client retries them elsewhere: a",
          "follower names the leader it knows, or says it knows none while an election runs.",
        ],
        "the throughput line drop to zero, then come back under a new leader.",
      );
      const killedAt = performance.now();
      const before = writer.acknowledgedAt.length;
      await cluster.crash(first.id);
      const next = await awaitLeader(context, "a new leader", {
        except: first.id,
        aboveTerm: first.term,
      });
      narrator.say(`${next.id} leads in term ${next.term}, ${elapsed(killedAt)} after the kill.`);
      await writer.acknowledged(WRITES_AFTER, context.patienceMs);
      const lastBefore = writer.acknowledgedAt[before - 1] ?? killedAt;
      const firstAfter =
        writer.acknowledgedAt.find((at, i) => i >= before && at > killedAt) ?? killedAt;
      narrator.say(
        `Writes stalled for ${((firstAfter - lastBefore) / 1000).toFixed(2)} s: from the last acknowledged before the kill to the first after it.`,
      );
      narrator.say(
        `${writer.failures.length} writes failed through the failover and were not acknowledged.`,
      );

      await narrator.step(
        "The writer goes on",
        ["The stream continues through the new leader; the writer then stops."],
        "the throughput line back at its level.",
      );
      await writer.acknowledged(WRITES_AFTER, context.patienceMs);
    } finally {
      await writer.stop();
    }
    narrator.say(`${writer.acknowledgedAt.length} writes acknowledged in all.`);

    await narrator.step(
      `Bring ${first.id} back`,
      [`${first.id} rejoins as a follower and is sent what it missed.`],
      `${first.id} back in the node table, live.`,
    );
    await cluster.restart(first.id);
    narrator.say(`${first.id} answers again.`);
  },
};
