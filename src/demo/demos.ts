/**
 * The guided demos by name, and the runner every one goes through: it makes the demo's
 * directory, narrates the demo's steps, and ends with the check that no acknowledged write
 * was lost.
 */
import type { SandstoreClient } from "../client/sandstore-client.ts";
import { AcknowledgedWrites, type WriteCheck } from "./acknowledged-writes.ts";
import { checkAcknowledgedWrites, type Demo, type DemoContext, withClient } from "./demo.ts";
import type { DemoCluster } from "./demo-cluster.ts";
import { electionDemo } from "./election-demo.ts";
import { failoverDemo } from "./failover-demo.ts";
import { Narrator } from "./narrator.ts";
import { partitionDemo } from "./partition-demo.ts";
import { repairDemo } from "./repair-demo.ts";

/** Every demo, in the order `sandstore demo --help` lists them. */
export const DEMOS: readonly Demo[] = [electionDemo, failoverDemo, partitionDemo, repairDemo];

/** How the runner reaches the cluster and the person. */
export interface DemoRunOptions {
  readonly cluster: DemoCluster;
  /** A file client of `addresses`, retrying a failed call for `retryForMs`. */
  readonly client: (addresses: readonly string[], retryForMs: number) => SandstoreClient;
  /** Writes one line of narration. */
  readonly write: (line: string) => void;
  /** Waits for the person between steps (`--step`); absent, the demo runs straight through. */
  readonly pause?: () => Promise<void>;
  /** The directory the demo's files go in; made if missing. */
  readonly directory: string;
  /** How long to wait for the effect of a fault. */
  readonly patienceMs: number;
}

/** Default retry of a demo's file clients: a leader election fits in it many times over. */
const CLIENT_RETRY_MS = 10_000;

/** Runs `demo` to its end and returns the final check's findings. */
export async function runDemo(demo: Demo, o: DemoRunOptions): Promise<WriteCheck> {
  const context: DemoContext = {
    cluster: o.cluster,
    narrator: new Narrator(demo.steps + 1, { write: o.write, pause: o.pause }),
    writes: new AcknowledgedWrites(),
    client: (addresses, retryForMs) =>
      o.client(addresses ?? o.cluster.clientAddresses(), retryForMs ?? CLIENT_RETRY_MS),
    patienceMs: o.patienceMs,
    directory: o.directory,
  };
  await withClient(context, (client) => client.mkdir(o.directory, { recursive: true }));
  await demo.run(context);
  return checkAcknowledgedWrites(context);
}
