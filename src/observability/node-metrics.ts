/**
 * A node's metrics in Prometheus's text format (prom-client), for `/metrics` on its HTTP port.
 *
 * Names follow Prometheus's conventions: the `sandstore_` prefix, base units (seconds,
 * bytes) in the name, `_total` on counters. Two kinds of figure feed them:
 * - events, counted as they happen: Raft's fsyncs, snapshots, leader changes and proposals
 *   (`raftObserver`), file operations (`observeFileOperation`), service bytes (`traffic`);
 * - state, read once per scrape from the node (`NodeFigures`): term, indexes, chunks, disk,
 *   repair, scrub and GC progress. Progress that the node keeps as running totals is exposed
 *   as counters set to those totals; a total that restarts (maintenance moves with the
 *   leader) is a counter reset, which Prometheus's `rate` handles.
 *
 * Each node has its own registry, so nodes sharing a process (tests) do not mix figures.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { MaintenanceStatus } from "../gen/sandstore/v1/file_service.ts";
import type { RaftObserver } from "../raft/node.ts";
import type { ServiceTraffic } from "../transport/transport.ts";

/** What a node is, as constant labels of `sandstore_node_info`. */
export interface NodeIdentity {
  readonly nodeId: string;
  readonly topology: string;
  readonly roles: readonly string[];
  /**
   * Whether the node is a member of a Raft group: only then does it expose the
   * `sandstore_raft_*` metrics (a data server's would be zeros that mean nothing). Default true.
   */
  readonly raftMember?: boolean;
}

/** A node's state as of one scrape; a part a node does not have is absent. */
export interface NodeFigures {
  /** The metadata group (or the key-value group) as this member sees it. */
  readonly raft?: {
    readonly role: string;
    readonly term: number;
    readonly leaderId: string;
    readonly commitIndex: number;
    readonly appliedIndex: number;
    readonly pendingProposals: number;
  };
  readonly chunks?: { readonly chunks: number; readonly bytes: number };
  readonly disk?: {
    readonly freeBytes: number;
    readonly totalBytes: number;
    readonly alarm: boolean;
  };
  /** Repair, scrub and GC progress, on a node that runs them (the metadata leader). */
  readonly maintenance?: MaintenanceStatus;
  readonly membershipStale?: boolean;
  /** Client calls refused for bad credentials, and refused unread for too many failures. */
  readonly auth?: { readonly refused: number; readonly throttled: number };
}

/** The outcome label of a file operation: `ok`, or the POSIX code (or error name) it failed with. */
export type OperationResult = string;

/**
 * Latency buckets, seconds: from a cached stat (100 µs) to a slow chunk write under load
 * (10 s). Fixed, so every node's histograms aggregate.
 */
const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** A counter set to a running total the node keeps, rather than incremented here. */
function totalCounter(registry: Registry, name: string, help: string): Counter {
  return new Counter({ name, help, registers: [registry] });
}

function setTotal(counter: Counter, value: number): void {
  counter.reset();
  if (value > 0) counter.inc(value);
}

export class NodeMetrics {
  readonly registry = new Registry();
  private figures: () => Promise<NodeFigures> = async () => ({});
  private operationCount = 0;
  private operationSeconds = 0;

  private readonly raftTerm: Gauge;
  private readonly raftHasLeader: Gauge;
  private readonly raftIsLeader: Gauge;
  private readonly raftCommitIndex: Gauge;
  private readonly raftAppliedIndex: Gauge;
  private readonly raftPending: Gauge;
  private readonly raftLeaderChanges: Counter;
  private readonly raftProposals: Counter;
  private readonly raftFsync: Histogram;
  private readonly raftSnapshot: Histogram;
  private readonly fileOperations: Histogram;
  private readonly chunkCount: Gauge;
  private readonly chunkBytes: Gauge;
  private readonly chunkDamaged: Counter;
  private readonly diskFree: Gauge;
  private readonly diskTotal: Gauge;
  private readonly diskAlarm: Gauge;
  private readonly membershipStale: Gauge;
  private readonly serviceReceived: Counter;
  private readonly serviceSent: Counter;
  private readonly authRefused: Counter;
  private readonly authThrottled: Counter;
  private readonly maintenanceActive: Gauge;
  private readonly repairPasses: Counter;
  private readonly repairUnderReplicated: Gauge;
  private readonly repairPending: Gauge;
  private readonly repairCopies: Counter;
  private readonly repairFailures: Counter;
  private readonly readRepairs: Counter;
  private readonly gcPasses: Counter;
  private readonly gcDeleted: Counter;
  private readonly scrubPasses: Counter;
  private readonly scrubCopies: Counter;
  private readonly scrubBytes: Counter;
  private readonly scrubDamaged: Counter;
  private readonly scrubUnrecoverable: Gauge;

  /** Told by the Raft node of fsyncs, snapshots, leader changes and settled proposals. */
  readonly raftObserver: RaftObserver;
  /** Counts the bytes the node's gRPC services receive and send, by service. */
  readonly traffic: ServiceTraffic;

  constructor(identity: NodeIdentity) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    // prom-client's default set names three gauges `_total`, against the conventions that
    // `promtool check metrics` enforces: they go (the handle and request counts are gauges
    // of Node's internals, which the other process metrics cover well enough).
    for (const name of [
      "nodejs_active_handles_total",
      "nodejs_active_requests_total",
      "nodejs_active_resources_total",
    ])
      r.removeSingleMetric(name);
    new Gauge({
      name: "sandstore_node_info",
      help: "Always 1; its labels say which node this is, of which topology, with which roles",
      labelNames: ["node", "topology", "roles"],
      registers: [r],
    }).set(
      { node: identity.nodeId, topology: identity.topology, roles: identity.roles.join(",") },
      1,
    );
    const gauge = (name: string, help: string) => new Gauge({ name, help, registers: [r] });
    // Raft's metrics exist on every node, so the code that feeds them needs no branch, but
    // are registered (exposed) only on a member.
    const raftRegisters = identity.raftMember === false ? [] : [r];
    const raftGauge = (name: string, help: string) =>
      new Gauge({ name, help, registers: raftRegisters });
    this.raftTerm = raftGauge("sandstore_raft_term", "Raft term this member is in");
    this.raftHasLeader = raftGauge(
      "sandstore_raft_has_leader",
      "1 when this member knows a leader",
    );
    this.raftIsLeader = raftGauge("sandstore_raft_is_leader", "1 when this member is the leader");
    this.raftCommitIndex = raftGauge(
      "sandstore_raft_commit_index",
      "Highest log index known committed",
    );
    this.raftAppliedIndex = raftGauge(
      "sandstore_raft_applied_index",
      "Highest log index applied to the state machine",
    );
    this.raftPending = raftGauge(
      "sandstore_raft_proposals_pending",
      "Proposals made here and not yet committed or failed",
    );
    this.raftLeaderChanges = new Counter({
      name: "sandstore_raft_leader_changes_seen_total",
      help: "Times this member saw a new leader",
      registers: raftRegisters,
    });
    this.raftProposals = new Counter({
      name: "sandstore_raft_proposals_total",
      help: "Proposals made here, by outcome: committed (and applied) or failed",
      labelNames: ["outcome"],
      registers: raftRegisters,
    });
    this.raftFsync = new Histogram({
      name: "sandstore_raft_wal_fsync_duration_seconds",
      help: "Time to append a batch to the Raft log and fsync it",
      buckets: LATENCY_BUCKETS,
      registers: raftRegisters,
    });
    this.raftSnapshot = new Histogram({
      name: "sandstore_raft_snapshot_duration_seconds",
      help: "Time to write and commit a snapshot of the state machine",
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: raftRegisters,
    });
    this.fileOperations = new Histogram({
      name: "sandstore_file_operation_duration_seconds",
      help: "File operations served by this node, by operation and result (ok or the POSIX code); _count counts them",
      labelNames: ["operation", "result"],
      buckets: LATENCY_BUCKETS,
      registers: [r],
    });
    this.chunkCount = gauge("sandstore_chunk_store_chunks", "Chunk copies this node stores");
    this.chunkBytes = gauge(
      "sandstore_chunk_store_bytes",
      "Bytes of chunk copies this node stores",
    );
    this.chunkDamaged = new Counter({
      name: "sandstore_chunk_store_damaged_copies_total",
      help: "Chunk copies here that failed their checksum when read",
      registers: [r],
    });
    this.diskFree = gauge("sandstore_disk_free_bytes", "Free bytes on the data directory's disk");
    this.diskTotal = gauge("sandstore_disk_total_bytes", "Size of the data directory's disk");
    this.diskAlarm = gauge(
      "sandstore_disk_alarm",
      "1 while the disk is nearly full and writes are refused",
    );
    this.membershipStale = gauge(
      "sandstore_membership_stale",
      "1 while this node's membership view may be out of date (etcd unreachable)",
    );
    this.serviceReceived = new Counter({
      name: "sandstore_service_received_bytes_total",
      help: "Encoded bytes of requests this node's services received, by service",
      labelNames: ["service"],
      registers: [r],
    });
    this.serviceSent = new Counter({
      name: "sandstore_service_sent_bytes_total",
      help: "Encoded bytes of responses this node's services sent, by service",
      labelNames: ["service"],
      registers: [r],
    });
    this.authRefused = totalCounter(
      r,
      "sandstore_auth_refused_total",
      "Client calls refused for missing or wrong credentials",
    );
    this.authThrottled = totalCounter(
      r,
      "sandstore_auth_throttled_total",
      "Client calls refused unread after too many failed attempts from their source",
    );
    this.maintenanceActive = gauge(
      "sandstore_maintenance_active",
      "1 while this node runs repair, scrub and GC (the metadata leader)",
    );
    this.repairPasses = totalCounter(
      r,
      "sandstore_repair_passes_total",
      "Completed repair passes over every chunk slot",
    );
    this.repairUnderReplicated = gauge(
      "sandstore_repair_under_replicated_slots",
      "Slots the last complete repair pass found short of copies",
    );
    this.repairPending = gauge(
      "sandstore_repair_pending_slots",
      "Slots short of copies now, not yet repaired",
    );
    this.repairCopies = totalCounter(
      r,
      "sandstore_repair_copies_total",
      "Chunk copies repair made",
    );
    this.repairFailures = totalCounter(
      r,
      "sandstore_repair_failures_total",
      "Repairs that failed and will be tried again",
    );
    this.readRepairs = totalCounter(
      r,
      "sandstore_read_repairs_total",
      "Copies rewritten because a read found them damaged or missing",
    );
    this.gcPasses = totalCounter(r, "sandstore_gc_passes_total", "Garbage collection passes");
    this.gcDeleted = totalCounter(
      r,
      "sandstore_gc_deleted_chunks_total",
      "Unreferenced chunk copies garbage collection deleted",
    );
    this.scrubPasses = totalCounter(
      r,
      "sandstore_scrub_passes_total",
      "Completed scrub passes over every copy",
    );
    this.scrubCopies = totalCounter(r, "sandstore_scrub_copies_total", "Copies the scrub verified");
    this.scrubBytes = totalCounter(r, "sandstore_scrub_bytes_total", "Bytes the scrub verified");
    this.scrubDamaged = totalCounter(
      r,
      "sandstore_scrub_damaged_copies_total",
      "Copies the scrub found damaged or missing",
    );
    this.scrubUnrecoverable = gauge(
      "sandstore_scrub_unrecoverable_slots",
      "Damaged slots with no good copy left to repair from",
    );

    this.raftObserver = {
      onFsync: (seconds) => this.raftFsync.observe(seconds),
      onSnapshot: (seconds) => this.raftSnapshot.observe(seconds),
      onLeaderChange: () => this.raftLeaderChanges.inc(),
      onProposalSettled: (outcome) => this.raftProposals.inc({ outcome }),
    };
    this.traffic = {
      received: (service, bytes) => this.serviceReceived.inc({ service }, bytes),
      sent: (service, bytes) => this.serviceSent.inc({ service }, bytes),
    };
  }

  /** Where each scrape reads the node's state; set once the node's parts exist. */
  readFiguresFrom(figures: () => Promise<NodeFigures>): void {
    this.figures = figures;
  }

  /** One file operation served: `operation` is the API's name, `seconds` its wall time. */
  observeFileOperation(operation: string, result: OperationResult, seconds: number): void {
    this.fileOperations.observe({ operation, result }, seconds);
    this.operationCount++;
    this.operationSeconds += seconds;
  }

  /** File operations observed since start, every kind and result, and their summed seconds. */
  fileOperationTotals(): { count: number; seconds: number } {
    return { count: this.operationCount, seconds: this.operationSeconds };
  }

  /** A local chunk copy failed its checksum. */
  countDamagedCopy(): void {
    this.chunkDamaged.inc();
  }

  /** The text format's content type, for the response's header. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in Prometheus's text format, with the node's state read now. */
  async text(): Promise<string> {
    const figures = await this.figures();
    const raft = figures.raft;
    if (raft) {
      this.raftTerm.set(raft.term);
      this.raftHasLeader.set(raft.leaderId ? 1 : 0);
      this.raftIsLeader.set(raft.role === "leader" ? 1 : 0);
      this.raftCommitIndex.set(raft.commitIndex);
      this.raftAppliedIndex.set(raft.appliedIndex);
      this.raftPending.set(raft.pendingProposals);
    }
    if (figures.chunks) {
      this.chunkCount.set(figures.chunks.chunks);
      this.chunkBytes.set(figures.chunks.bytes);
    }
    if (figures.disk) {
      this.diskFree.set(figures.disk.freeBytes);
      this.diskTotal.set(figures.disk.totalBytes);
      this.diskAlarm.set(figures.disk.alarm ? 1 : 0);
    }
    this.membershipStale.set(figures.membershipStale ? 1 : 0);
    if (figures.auth) {
      setTotal(this.authRefused, figures.auth.refused);
      setTotal(this.authThrottled, figures.auth.throttled);
    }
    const m = figures.maintenance;
    this.maintenanceActive.set(m?.active ? 1 : 0);
    if (m) {
      setTotal(this.repairPasses, m.repairPasses);
      this.repairUnderReplicated.set(m.underReplicated);
      this.repairPending.set(m.repairPending);
      setTotal(this.repairCopies, m.repairedTotal);
      setTotal(this.repairFailures, m.repairFailuresTotal);
      setTotal(this.readRepairs, m.readRepairsTotal);
      setTotal(this.gcPasses, m.gcPasses);
      setTotal(this.gcDeleted, m.gcDeletedTotal);
      setTotal(this.scrubPasses, m.scrubPasses);
      setTotal(this.scrubCopies, m.scrubCopiesTotal);
      setTotal(this.scrubBytes, m.scrubBytesTotal);
      setTotal(this.scrubDamaged, m.scrubDamagedTotal);
      this.scrubUnrecoverable.set(m.scrubUnrecoverable);
    }
    return this.registry.metrics();
  }
}
