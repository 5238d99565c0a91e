/**
 * Real `RaftNode`s with real disk storage, joined by an in-process transport that can cut
 * nodes off: for driver tests and the benchmark.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry, Message, NodeId, SnapshotMeta } from "../core/types.ts";
import { EntryType } from "../core/types.ts";
import { RaftNode, type RaftNodeOptions, type StateMachine } from "../node.ts";
import { DiskStorage } from "../storage/disk-storage.ts";

/** A map of strings: `key=value` entries set a key; the result of an apply is the entry's index. */
export class MapStateMachine implements StateMachine {
  data = new Map<string, string>();
  private applied = 0;

  apply(entries: readonly Entry[]): unknown[] {
    return entries.map((entry) => {
      if (entry.index <= this.applied) return undefined;
      this.applied = entry.index;
      if (entry.type !== EntryType.Normal || entry.data.length === 0) return undefined;
      const text = new TextDecoder().decode(entry.data);
      const eq = text.indexOf("=");
      this.data.set(text.slice(0, eq), text.slice(eq + 1));
      return entry.index;
    });
  }

  appliedIndex(): number {
    return this.applied;
  }

  async snapshot() {
    const bytes = new TextEncoder().encode(
      JSON.stringify({ applied: this.applied, data: [...this.data] }),
    );
    // Streamed in small pieces, as a large state machine would.
    const chunks = (async function* () {
      for (let i = 0; i < bytes.length; i += 1000) yield bytes.subarray(i, i + 1000);
    })();
    return { index: this.applied, size: bytes.length, chunks };
  }

  async restore(
    meta: SnapshotMeta,
    read: (offset: number, length: number) => Promise<Uint8Array>,
  ): Promise<void> {
    const parts: Uint8Array[] = [];
    for (let offset = 0; offset < meta.size; offset += 1000)
      parts.push(await read(offset, Math.min(1000, meta.size - offset)));
    const parsed = JSON.parse(Buffer.concat(parts).toString("utf8")) as {
      applied: number;
      data: Array<[string, string]>;
    };
    this.applied = parsed.applied;
    this.data = new Map(parsed.data);
  }
}

export interface ClusterNode {
  readonly id: NodeId;
  readonly dir: string;
  node: RaftNode;
  machine: MapStateMachine;
}

export class MemoryCluster {
  readonly nodes = new Map<NodeId, ClusterNode>();
  /** Where each node's transport delivers what arrives for it (the node's `receive`). */
  private readonly inboxes = new Map<NodeId, (message: Message) => void>();
  /** Nodes cut off from every other node. */
  readonly isolated = new Set<NodeId>();
  /** Messages this returns true for are lost (a test's lossy network). */
  drops: ((message: Message) => boolean) | undefined;
  private root = "";

  constructor(
    readonly ids: readonly NodeId[],
    private readonly options: Partial<
      Omit<RaftNodeOptions, "id" | "storage" | "transport" | "stateMachine">
    > = {},
  ) {}

  async start(): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), "sandstore-raft-cluster-"));
    for (const id of this.ids) await this.startNode(id);
  }

  private deliver(message: Message): void {
    if (this.isolated.has(message.from) || this.isolated.has(message.to)) return;
    if (this.drops?.(message)) return;
    // Asynchronous, like a network: never re-enter the sender's loop.
    setImmediate(() => this.inboxes.get(message.to)?.(message));
  }

  /** Starts (or restarts after `stopNode`) a node from its data directory. */
  async startNode(id: NodeId): Promise<ClusterNode> {
    const dir = join(this.root, id);
    const machine = new MapStateMachine();
    const node = new RaftNode({
      tickMs: 10,
      ...this.options,
      id,
      storage: new DiskStorage({
        dir,
        initialConf: { voters: [...this.ids], learners: [] },
        segmentBytes: 1024 * 1024,
      }),
      transport: {
        send: (m) => this.deliver(m),
        receive: (deliver) => this.inboxes.set(id, deliver),
      },
      stateMachine: machine,
      addresses: (nodeId) => `address-of-${nodeId}`,
    });
    await node.start();
    const entry = { id, dir, node, machine };
    this.nodes.set(id, entry);
    return entry;
  }

  async stopNode(id: NodeId): Promise<void> {
    await this.nodes.get(id)?.node.stop();
    this.nodes.delete(id);
  }

  /** The node that leads in the highest term, if any. */
  leader(): ClusterNode | undefined {
    let best: ClusterNode | undefined;
    for (const n of this.nodes.values()) {
      const s = n.node.status();
      if (s.role === "leader" && (!best || s.term > best.node.status().term)) best = n;
    }
    return best;
  }

  /** Waits for a leader, polling; throws after `timeoutMs`. */
  async waitForLeader(timeoutMs = 10_000): Promise<ClusterNode> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = this.leader();
      if (leader && !this.isolated.has(leader.id)) return leader;
      if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async stop(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.stopNode(id);
    await rm(this.root, { recursive: true, force: true });
  }
}
