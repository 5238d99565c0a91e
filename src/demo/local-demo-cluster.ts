/**
 * A demo's own cluster: real node processes on 127.0.0.1 started through the one process
 * harness (src/chaos/chaos-cluster.ts), so its faults are a SIGKILL and the nodes' fault files.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChaosCluster } from "../chaos/chaos-cluster.ts";
import { waitFor } from "../common/wait-for.ts";
import type { AdminNodeState } from "../transport/grpc-admin-service.ts";
import type { DemoCluster } from "./demo-cluster.ts";

/** How a demo's local cluster is made. */
export interface LocalDemoClusterOptions {
  /** `hyperconverged` or `disaggregated`. */
  readonly topology: string;
  /** Members of the Raft group. */
  readonly nodes: number;
  /** Copies of each chunk; default the topology's. */
  readonly replication?: number;
  /** Node i serves HTTP on 127.0.0.1:(base+i); `ephemeral` picks free ports. */
  readonly http: number | "ephemeral";
  /** How long a server may be down before repair replaces its copies, ms. */
  readonly repairLostAfterMs: number;
  /** Chunk size in bytes: small, so a few files make many chunks to place and repair. */
  readonly chunkSize: number;
}

/** How long a node started or restarted has to answer. */
const ANSWER_TIMEOUT_MS = 30_000;

export class LocalDemoCluster implements DemoCluster {
  readonly faultsBy = "demo";
  readonly ids: readonly string[];

  private constructor(
    private readonly cluster: ChaosCluster,
    private readonly root: string,
  ) {
    this.ids = cluster.ids;
  }

  /** Starts the cluster under a new temporary directory, removed again by `close`. */
  static async start(o: LocalDemoClusterOptions): Promise<LocalDemoCluster> {
    const root = await mkdtemp(join(tmpdir(), "sandstore-demo-"));
    const cluster = new ChaosCluster({
      topology: o.topology,
      nodes: o.nodes,
      root,
      chunkSize: o.chunkSize,
      replication: o.replication,
      repairLostAfterMs: o.repairLostAfterMs,
      http: o.http,
    });
    const demo = new LocalDemoCluster(cluster, root);
    try {
      await cluster.start();
    } catch (error) {
      await demo.close();
      throw error;
    }
    return demo;
  }

  get dashboard(): string | undefined {
    const address = this.cluster.httpAddress(0);
    return address === undefined ? undefined : `http://${address}/`;
  }

  /** Every process of the cluster with its role and HTTP address, for the opening lines. */
  describe(): string[] {
    return this.cluster.allIds.map((id, i) => {
      const http = this.cluster.httpAddress(i);
      const role = i < this.ids.length ? "member" : "data server";
      return `${id} (${role}) on ${this.cluster.clientAddress(i)}${http ? `, HTTP http://${http}/` : ""}`;
    });
  }

  clientAddresses(): readonly string[] {
    return this.cluster.clientAddresses();
  }

  clientAddress(id: string): string {
    return this.cluster.clientAddress(this.index(id));
  }

  async states(): Promise<ReadonlyMap<string, AdminNodeState | undefined>> {
    const states = await Promise.all(this.ids.map((_, i) => this.cluster.nodeState(i)));
    return new Map(this.ids.map((id, i) => [id, states[i]]));
  }

  transferLeadership(from: string, to: string): Promise<boolean> {
    return this.cluster.transferLeadership(this.index(from), this.index(to));
  }

  async crash(id: string): Promise<void> {
    await this.cluster.kill(this.index(id));
  }

  async restart(id: string): Promise<void> {
    const i = this.index(id);
    await this.cluster.startNode(i);
    // A data server has no Raft state to ask for: that it listens again is all there is.
    if (i >= this.ids.length) return;
    await waitFor(
      async () => (await this.cluster.nodeState(i)) !== undefined,
      `${id} to answer after its restart`,
      ANSWER_TIMEOUT_MS,
    );
  }

  async isolate(id: string): Promise<void> {
    const i = this.index(id);
    const others = this.ids.filter((other) => other !== id);
    await this.cluster.setFaults(i, { drop: others });
    await Promise.all(
      others.map((other) => this.cluster.setFaults(this.index(other), { drop: [id] })),
    );
  }

  heal(): Promise<void> {
    return this.cluster.healAll();
  }

  async close(): Promise<void> {
    await this.cluster.stop();
    await rm(this.root, { recursive: true, force: true });
  }

  /** The harness's index of process `id`: a member, or a disaggregated cluster's data server. */
  private index(id: string): number {
    const i = this.cluster.allIds.indexOf(id);
    if (i < 0) throw new RangeError(`the demo's cluster has no node ${id}`);
    return i;
  }
}
