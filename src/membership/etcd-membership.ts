/**
 * The `etcd` Membership: members register in etcd's v3 key space and learn of each other
 * there, as the original Sandstore's active topology, Kubernetes and Patroni do.
 *
 * Each node puts `<prefix>/members/<id>` (its id, address, roles and free bytes, as JSON)
 * under a lease of `ttlSeconds`, keeps the lease alive, and registers again under a new lease
 * when it loses one (the original never renewed a closed keepalive stream). Every node watches
 * the prefix: a member is live while its key exists, so a killed node drops out when its lease
 * expires, and a node that leaves revokes its lease at once. If etcd cannot be reached, the
 * last view is kept and marked stale (`stale`): a node cut off from etcd does not declare its
 * peers dead (the original's liveness was all or nothing).
 *
 * What etcd holds is input from other processes: every registration is validated, and one
 * that is malformed is left out and counted (`rejectedTotal`).
 */
import type { IBackoff } from "cockatiel";
import { Etcd3, type Lease, type Watcher } from "etcd3";
import { NODE_ID_PATTERN } from "../common/node-id.ts";
import {
  ALL_ROLES,
  type Member,
  type MemberSpec,
  type Membership,
  type NodeInfo,
  type NodeRole,
} from "./membership.ts";

/** Most members one view holds: bounds memory against a prefix filled by mistake. */
export const MAX_MEMBERS = 1024;
/** Longest registration value read, bytes: an id, an address, roles and a number fit easily. */
const MAX_REGISTRATION_BYTES = 1024;
/** Shortest wait before registering again after a lost lease or a failed attempt, ms. */
const RETRY_MS = 250;
/** Longest wait between attempts to register, ms: etcd down for long is tried this often. */
const MAX_RETRY_MS = 5000;
/**
 * Longest wait before the watch reconnects, ms. The client's default backs off to 30 s, which
 * leaves a node's view stale that long after etcd is back, and its timers, which closing the
 * client does not clear, keep a stopped node's process alive as long.
 */
const MAX_WATCH_BACKOFF_MS = 2000;

/**
 * The watch's reconnect delays: RETRY_MS doubling up to MAX_WATCH_BACKOFF_MS. The client asks
 * the first one of `next()`, then each next of the one it used.
 */
class WatchBackoff implements IBackoff<unknown> {
  readonly duration: number;

  constructor(private readonly attempt: number) {
    this.duration = Math.min(MAX_WATCH_BACKOFF_MS, RETRY_MS * 2 ** attempt);
  }

  next(): WatchBackoff {
    return new WatchBackoff(Math.min(this.attempt + 1, 16));
  }
}

/** Where the members of one cluster live in etcd: its endpoints and key prefix. */
export interface EtcdLocation {
  /** `host:port` of each etcd member; at least one. */
  readonly endpoints: readonly string[];
  /** Key prefix of this cluster, without a trailing slash (`/sandstore/<cluster>`). */
  readonly prefix: string;
}

/**
 * Parses `etcd://HOST:PORT[,HOST:PORT...][/PREFIX]` (the `--membership` flag). The prefix
 * defaults to `/sandstore`. Throws RangeError naming what is wrong.
 */
export function parseEtcdLocation(text: string): EtcdLocation {
  const match = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(text);
  if (!match?.[1])
    throw new RangeError(`"${text}" is not etcd://HOST:PORT[,HOST:PORT...][/PREFIX]`);
  const endpoints = match[1].split(",");
  for (const endpoint of endpoints)
    if (!/^(\[[0-9A-Fa-f:]+\]|[^:\s[\]]+):\d{1,5}$/.test(endpoint))
      throw new RangeError(`etcd endpoint "${endpoint}" is not host:port`);
  const prefix = (match[2] ?? "/sandstore").replace(/\/+$/, "");
  if (prefix === "" || !/^(\/[A-Za-z0-9_.-]+)+$/.test(prefix))
    throw new RangeError(`etcd prefix "${match[2]}" is not /name[/name...]`);
  return { endpoints, prefix };
}

/** etcd could not be reached to register and read the members: the node does not start. */
export class EtcdUnreachableError extends Error {
  override readonly name = "EtcdUnreachableError";

  constructor(
    readonly endpoints: readonly string[],
    reason: string,
  ) {
    super(`etcd membership: cannot reach etcd at ${endpoints.join(",")}: ${reason}`);
  }
}

export interface EtcdMembershipOptions {
  /** This node, as it registers. */
  readonly self: MemberSpec;
  readonly location: EtcdLocation;
  /** Lease time to live, seconds: a killed node is not live after about this. Default 5. */
  readonly ttlSeconds?: number;
  /**
   * This node's free disk bytes, read and registered again every `reportIntervalMs` when
   * they change.
   */
  readonly freeBytes?: () => number | undefined;
  /** Time between updates of this node's registration, ms. Default 1,000. */
  readonly reportIntervalMs?: number;
  /**
   * Which registrations belong in this node's view; default all. A topology whose members are
   * fixed otherwise (the hyperconverged Raft group of `--peers`) takes only those. Asked each
   * time the view is read, so a member the topology accepts later (one added to the group)
   * is in it from then on; `addressOf` answers for every registration.
   */
  readonly accept?: (member: Member) => boolean;
  /** Failures to reach etcd, for the log; the membership goes on either way. */
  readonly onError?: (error: unknown) => void;
}

export class EtcdMembership implements Membership {
  private readonly client: Etcd3;
  /** Every member seen since start, as it last registered; bounded by MAX_MEMBERS. */
  private readonly known = new Map<string, Member>();
  /** The ids whose registration exists now (as of the last view, while stale). */
  private readonly live = new Set<string>();
  /** This node as it registers: its address is the bound one once `start` is given it. */
  private selfSpec: MemberSpec;
  private lease: Lease | undefined;
  private watcher: Watcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_MS;
  private closed = false;
  private registered: string | undefined;
  /**
   * This node's free bytes as last published: what its own row says, so listing the members,
   * which placement does on every write, costs no system call.
   */
  private freeBytes: number | undefined;
  /** True while the view may be out of date: etcd is not reachable or not watched. */
  private stale = true;
  /** Registrations left out because they did not check out, or the view was full. */
  rejectedTotal = 0;
  /** Times this node registered (again) under a new lease. */
  registrationsTotal = 0;

  constructor(private readonly o: EtcdMembershipOptions) {
    if (!NODE_ID_PATTERN.test(o.self.id)) throw new RangeError(`bad node id ${o.self.id}`);
    if (o.self.roles.length === 0) throw new RangeError(`node ${o.self.id} has no role`);
    if (o.location.endpoints.length === 0) throw new RangeError("no etcd endpoint");
    this.selfSpec = o.self;
    this.client = new Etcd3({
      hosts: o.location.endpoints.map((endpoint) => `http://${endpoint}`),
      dialTimeout: 2000,
      faultHandling: {
        watchBackoff: new WatchBackoff(0),
      },
    });
  }

  private get membersPrefix(): string {
    return `${this.o.location.prefix}/members/`;
  }

  /**
   * Registers this node, reads every member and starts watching. Resolves once the first
   * view is read, or rejects with EtcdUnreachableError when etcd cannot be reached: a node
   * does not start blind. `address` replaces the one given at construction (a server that
   * bound port 0 registers the port it got).
   */
  async start(address?: string): Promise<void> {
    if (address !== undefined) this.selfSpec = { ...this.selfSpec, address };
    try {
      await this.register();
      await this.watch();
    } catch (error) {
      await this.close();
      const reason = error instanceof Error ? error.message : String(error);
      throw new EtcdUnreachableError(this.o.location.endpoints, reason);
    }
    this.schedule(this.o.reportIntervalMs ?? 1000);
  }

  private async register(): Promise<void> {
    const lease = this.client.lease(this.o.ttlSeconds ?? 5);
    lease.on("lost", (error) => {
      if (this.closed || this.lease !== lease) return;
      this.o.onError?.(error);
      this.stale = true;
      this.lease = undefined;
      this.registered = undefined;
      this.retry();
    });
    lease.on("keepaliveFailed", () => {
      this.stale = true;
    });
    lease.on("keepaliveSucceeded", () => {
      if (this.watcher) this.stale = false;
    });
    this.lease = lease;
    await this.publish();
    this.registrationsTotal++;
    this.retryMs = RETRY_MS;
  }

  /** Puts this node's registration under the current lease, when it differs from the last. */
  private async publish(): Promise<void> {
    const lease = this.lease;
    if (!lease) return;
    this.freeBytes = this.o.freeBytes?.();
    const value = JSON.stringify({
      id: this.selfSpec.id,
      address: this.selfSpec.address,
      roles: this.selfSpec.roles,
      freeBytes: this.freeBytes,
    });
    if (value === this.registered) return;
    await lease.put(this.membersPrefix + this.selfSpec.id).value(value);
    this.registered = value;
  }

  private async watch(): Promise<void> {
    const all = await this.client.getAll().prefix(this.membersPrefix).strings();
    this.live.clear();
    for (const [key, value] of Object.entries(all)) this.take(key, value);
    const watcher = await this.client.watch().prefix(this.membersPrefix).create();
    watcher.on("put", (kv) => this.take(kv.key.toString(), kv.value.toString()));
    watcher.on("delete", (kv) =>
      this.live.delete(kv.key.toString().slice(this.membersPrefix.length)),
    );
    watcher.on("disconnected", () => {
      this.stale = true;
    });
    watcher.on("connected", () => {
      this.stale = false;
    });
    watcher.on("error", (error) => this.o.onError?.(error));
    this.watcher = watcher;
    this.stale = false;
  }

  /** Takes one registration into the view, if it checks out. */
  private take(key: string, value: string): void {
    const id = key.slice(this.membersPrefix.length);
    const member = parseRegistration(id, value);
    const full = !this.known.has(id) && this.known.size >= MAX_MEMBERS;
    if (!member || full) {
      this.rejectedTotal++;
      return;
    }
    this.known.set(id, member);
    this.live.add(id);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const step = this.lease ? this.publish() : this.register();
      step.then(
        // A lost lease may have scheduled a retry meanwhile: one chain of steps, never two.
        () => {
          if (!this.timer) this.schedule(this.o.reportIntervalMs ?? 1000);
        },
        (error: unknown) => {
          this.o.onError?.(error);
          this.stale = true;
          this.retry();
        },
      );
    }, ms);
  }

  /** Tries again later, backing off up to MAX_RETRY_MS. */
  private retry(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.schedule(this.retryMs);
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
  }

  self(): NodeInfo {
    return { id: this.selfSpec.id, address: this.selfSpec.address };
  }

  /**
   * Every member seen since start, live or gone, this node always among them, in id order;
   * with `role`, those serving it.
   */
  members(role?: NodeRole): Member[] {
    const members = new Map(this.known);
    members.set(this.selfSpec.id, { ...this.selfSpec, freeBytes: this.freeBytes });
    return [...members.values()]
      .filter((member) => member.id === this.selfSpec.id || (this.o.accept?.(member) ?? true))
      .filter((member) => role === undefined || member.roles.includes(role))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Members whose registration exists: a lease that expired took its key away. While the
   * view is stale, it is the last one seen: no peer is declared dead for etcd being away.
   */
  liveMembers(role?: NodeRole): Member[] {
    return this.members(role).filter(
      (member) => member.id === this.selfSpec.id || this.live.has(member.id),
    );
  }

  /** The address member `id` last registered, if it ever has. */
  addressOf(id: string): string | undefined {
    return id === this.selfSpec.id ? this.selfSpec.address : this.known.get(id)?.address;
  }

  isStale(): boolean {
    return this.stale;
  }

  /** Leaves: revokes the lease, so the others see this node gone at once, and disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.watcher?.cancel().catch((error: unknown) => this.o.onError?.(error));
    await this.lease?.revoke().catch((error: unknown) => this.o.onError?.(error));
    this.client.close();
  }
}

/** A registration read from etcd, or undefined when it does not check out. */
export function parseRegistration(id: string, value: string): Member | undefined {
  if (!NODE_ID_PATTERN.test(id) || value.length > MAX_REGISTRATION_BYTES) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const record = parsed;
  const field = (name: string): unknown => Reflect.get(record, name);
  const [named, address, roles, freeBytes] = ["id", "address", "roles", "freeBytes"].map(field);
  if (named !== id || typeof address !== "string" || !/^.+:\d{1,5}$/.test(address))
    return undefined;
  if (!Array.isArray(roles) || roles.length === 0) return undefined;
  const known = ALL_ROLES.filter((role) => roles.includes(role));
  if (known.length !== roles.length) return undefined;
  if (freeBytes !== undefined && (typeof freeBytes !== "number" || !(freeBytes >= 0)))
    return undefined;
  return { id, address, roles: known, freeBytes };
}
