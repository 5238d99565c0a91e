/**
 * A data server's reports to the metadata servers, as HDFS data nodes' heartbeats: every
 * interval it tells each metadata server where it listens, its free and total disk, and what
 * its chunk store holds, and learns from each answer that server's capability key. A
 * metadata server learns of data servers only so: a new one is placed on as soon as it has
 * reported, and one that stops reporting stops being live.
 *
 * With `inventory`, it also sends each metadata server every chunk it holds (its block
 * report, as HDFS data nodes send), at start and then every `inventory.intervalMs`: the
 * leader's repair and garbage collection read the last one instead of asking this server.
 *
 * The reporter also keeps the key ring that the data service checks capabilities against
 * (`checkCapability`): a capability under a key not seen yet (a metadata server that started
 * since the last report) triggers a report round at once.
 */

import type { ChunkInfo } from "../chunks/chunk-store.ts";
import { fsError } from "../common/errors.ts";
import { isHostPort } from "../common/host-port.ts";
import { PeriodicTask } from "../common/periodic-task.ts";
import type { NodeInfo } from "../membership/membership.ts";
import {
  type CapabilityKey,
  type ChunkOperation,
  checkCapability,
  issuerOfKey,
  parseCapability,
} from "./chunk-capability.ts";

/** What a data server says of itself in each report. */
export interface DataServerReport {
  readonly id: string;
  /** Where clients and metadata servers reach it, `host:port`. */
  readonly address: string;
  readonly freeBytes: number;
  readonly totalBytes: number;
  readonly chunkCount: number;
  readonly chunkBytes: number;
}

/**
 * What a metadata server answers a report with: who it is, its capability key, and where the
 * metadata group's members listen, as it knows them.
 */
export interface ReportReply {
  readonly metadataId: string;
  readonly key: CapabilityKey;
  readonly metadataServers: readonly string[];
}

/**
 * Most metadata server addresses taken from one answer: a group has 1 to 9 members, and one
 * answer listing more than this is not taken.
 */
const MAX_GROUP_ADDRESSES = 16;

/**
 * Keys kept per data server: one per metadata server start. Bounds the ring; the oldest goes
 * first, since a metadata server uses only its newest.
 */
const MAX_KEYS = 64;

export interface DataServerReporterOptions {
  /**
   * Metadata servers, `host:port`: each gets every report. Asked again for each round, so a
   * list that membership keeps (etcd) may grow and shrink.
   */
  readonly metadataServers: () => readonly string[];
  /** This server's report, taken fresh for each round, given where it listens. */
  readonly report: (address: string) => DataServerReport;
  /** Sends one report; rejects when the server cannot be reached. */
  readonly send: (address: string, report: DataServerReport) => Promise<ReportReply>;
  /** Time between rounds, ms: a metadata server thinks this server dead after a few missed. */
  readonly intervalMs: number;
  /** Block reports: how to list the store and send the list, and how often. */
  readonly inventory?: {
    /** Every chunk the store holds. */
    readonly list: () => Promise<ChunkInfo[]>;
    /** Sends the list to one metadata server; rejects when it is not taken. */
    readonly send: (address: string, chunks: readonly ChunkInfo[]) => Promise<void>;
    /** Time between inventories, ms. */
    readonly intervalMs: number;
  };
  readonly now?: () => number;
  readonly onError?: (error: unknown) => void;
}

export class DataServerReporter {
  private readonly keys = new Map<string, CapabilityKey>();
  /** Each metadata server that answered a report: its id, and when it last answered, ms. */
  private readonly answered = new Map<string, { id: string; atMs: number }>();
  /** The metadata group as each answering server last listed it. */
  private readonly groups = new Map<string, readonly string[]>();
  private readonly task: PeriodicTask;
  private readonly inventoryTask: PeriodicTask | undefined;
  private round: Promise<void> | undefined;
  /** Where this server listens, known once its server is bound (`start`). */
  private address: string | undefined;
  private readonly now: () => number;
  /** Rounds of reports sent, and reports a metadata server did not answer. */
  roundsTotal = 0;
  failuresTotal = 0;
  /** Inventories sent (one per metadata server that took it), and ones not taken. */
  inventoriesTotal = 0;
  inventoryFailuresTotal = 0;

  constructor(private readonly o: DataServerReporterOptions) {
    this.now = o.now ?? Date.now;
    this.task = new PeriodicTask(() => this.reportNow(), o.intervalMs, o.onError);
    const inventory = o.inventory;
    this.inventoryTask =
      inventory &&
      new PeriodicTask(() => this.sendInventories(inventory), inventory.intervalMs, o.onError);
  }

  /** Starts reporting that this server listens at `address`. */
  start(address: string): void {
    this.address = address;
    this.task.start();
    this.inventoryTask?.start();
  }

  async stop(): Promise<void> {
    await this.inventoryTask?.stop();
    await this.task.stop();
    await this.round;
  }

  /**
   * One inventory to every metadata server. A report round goes first: a metadata server
   * takes an inventory only from a data server that has reported.
   */
  private async sendInventories(inventory: NonNullable<DataServerReporterOptions["inventory"]>) {
    await this.reportNow();
    const chunks = await inventory.list();
    const sent = await Promise.allSettled(
      this.o.metadataServers().map((address) => inventory.send(address, chunks)),
    );
    for (const outcome of sent) {
      if (outcome.status === "fulfilled") this.inventoriesTotal++;
      else {
        this.inventoryFailuresTotal++;
        this.o.onError?.(outcome.reason);
      }
    }
  }

  /** One round of reports to every metadata server; joins the round under way, if any. */
  reportNow(): Promise<void> {
    this.round ??= this.sendRound().finally(() => {
      this.round = undefined;
    });
    return this.round;
  }

  private async sendRound(): Promise<void> {
    // Before `start` there is nothing to report, and no key a capability could name.
    if (this.address === undefined) return;
    const report = this.o.report(this.address);
    this.roundsTotal++;
    const replies = await Promise.allSettled(
      this.o.metadataServers().map(async (address) => {
        const reply = await this.o.send(address, report);
        this.answered.set(address, { id: reply.metadataId, atMs: this.now() });
        const group = reply.metadataServers;
        if (group.length <= MAX_GROUP_ADDRESSES && group.every(isHostPort))
          this.groups.set(address, group);
        return reply;
      }),
    );
    for (const reply of replies) {
      if (reply.status === "fulfilled") this.addKey(reply.value.key);
      else {
        this.failuresTotal++;
        this.o.onError?.(reply.reason);
      }
    }
  }

  /**
   * The metadata servers that answered a report in the last `withinMs`, by the id each
   * answered with, in id order: who this data server's cluster is run by.
   */
  metadataServersHeard(withinMs: number): NodeInfo[] {
    const cutoff = this.now() - withinMs;
    return [...this.answered]
      .filter(([, heard]) => heard.atMs >= cutoff)
      .map(([address, heard]) => ({ id: heard.id, address }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * The metadata servers the answers list, in the order first seen: a data server reports to
   * these too, beyond the ones it was given.
   */
  metadataServersListed(): string[] {
    return [...new Set([...this.groups.values()].flat())];
  }

  private addKey(key: CapabilityKey): void {
    if (this.keys.has(key.id)) return;
    this.keys.set(key.id, key);
    const oldest = this.keys.keys().next();
    if (this.keys.size > MAX_KEYS && !oldest.done) this.keys.delete(oldest.value);
  }

  /**
   * Checks that `capability` allows `operation` on `chunkId` now (see
   * `chunk-capability.checkCapability`). A key not known yet is asked for with a report
   * round first. Throws EACCES naming the chunk when the capability does not hold.
   */
  async checkCapability(
    capability: string,
    chunkId: string,
    operation: ChunkOperation,
  ): Promise<void> {
    const claims = parseCapability(capability);
    if (!claims) throw fsError("EACCES", `chunk ${chunkId}`, "malformed chunk capability");
    if (!this.keys.has(claims.keyId) && issuerOfKey(claims.keyId) !== undefined)
      await this.reportNow();
    const key = this.keys.get(claims.keyId);
    if (!key)
      throw fsError(
        "EACCES",
        `chunk ${chunkId}`,
        "capability under a key no metadata server holds",
      );
    checkCapability(capability, key, chunkId, operation, this.now());
  }
}
