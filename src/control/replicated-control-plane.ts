/**
 * The `replicated` ControlPlane: validates requests, turns them into metadata commands
 * proposed through the `MetadataReplicator`, and answers reads from the local store behind
 * the replicator's read barrier. Used by every topology; the replicator decides whether
 * "replicated" means one node or a Raft group.
 */
import { randomBytes } from "node:crypto";
import {
  type Errno,
  fsError,
  isErrno,
  NotLeaderError,
  SandstoreError,
  UnavailableError,
} from "../common/errors.ts";
import { notRegularErrno } from "../common/file-kinds.ts";
import { hashSecret } from "../common/secrets.ts";
import type {
  Caller,
  ClientSession,
  MetadataCommand,
  Owner,
} from "../gen/sandstore/v1/metadata.ts";
import type { Membership } from "../membership/membership.ts";
import type { ClusterSettings } from "../metadata/cluster-settings.ts";
import {
  type CommandResult,
  type DirPage,
  type Inode,
  inlineWriteFits,
  type MetadataStore,
  type SlotCursor,
} from "../metadata/metadata-store.ts";
import { R_OK, W_OK } from "../metadata/permissions.ts";
import type { PlacementStrategy } from "../placement/placement-strategy.ts";
import type { MetadataReplicator } from "../replication/metadata-replicator.ts";
import type {
  AttrChanges,
  CommitOutcome,
  ControlPlane,
  CreateOptions,
  NewUser,
  ReadOptions,
  ReadPlan,
  SpecialFile,
  UserCredentials,
  WriteIntent,
  WrittenChunk,
} from "./control-plane.ts";

export interface ReplicatedControlPlaneOptions {
  readonly store: MetadataStore;
  readonly replicator: MetadataReplicator;
  readonly membership: Membership;
  readonly placement: PlacementStrategy;
  /** The wall clock stamped into commands; injectable for deterministic tests. */
  readonly now?: () => number;
  /**
   * Makes a new user's secret from its access key id and salt (`deriveUserSecret`, on a
   * cluster with a token, so that a gateway with the token can check SigV4 signatures).
   * Absent: 256 random bits.
   */
  readonly userSecret?: (accessKeyId: string, salt: Uint8Array) => string;
}

export class ReplicatedControlPlane implements ControlPlane {
  private readonly now: () => number;
  /** The cluster's settings once this node has applied them; they never change after. */
  private decided: ClusterSettings | undefined;

  constructor(private readonly o: ReplicatedControlPlaneOptions) {
    this.now = o.now ?? Date.now;
  }

  async settings(): Promise<ClusterSettings> {
    // No read barrier: decided settings never change, so this node's applied view is exact
    // once it has them (and may be kept), and a node that has not applied them yet says so
    // at once.
    this.decided ??= this.o.store.settings();
    const settings = this.decided;
    if (!settings)
      throw new UnavailableError(
        "EAGAIN",
        "",
        "the cluster's settings are not decided yet, or this node has not applied them",
      );
    return settings;
  }

  /**
   * Proposes the cluster's settings (bootstrap). Resolves with the decided ones: these, or
   * those an earlier bootstrap committed first. Fails with NotLeaderError off the leader.
   */
  async bootstrap(settings: ClusterSettings): Promise<ClusterSettings> {
    const result = await this.o.replicator.propose({
      session: undefined,
      caller: undefined,
      command: { $case: "configureCluster", value: settings },
    });
    if (result.errno && result.errno !== "EEXIST") this.unwrap("cluster settings", result);
    return this.settings();
  }

  async stat(path: string, options?: ReadOptions): Promise<Inode> {
    await this.barrier(options);
    return this.o.store.stat(path, options?.caller, options?.access ?? 0);
  }

  async create(
    path: string,
    options: CreateOptions,
    session?: ClientSession,
    caller?: Caller,
    owner?: Owner,
  ): Promise<Inode> {
    return this.mutate(path, {
      session,
      caller,
      command: {
        $case: "create",
        value: {
          path,
          mode: options.mode,
          ...ownerIds(owner, caller),
          exclusive: options.exclusive,
          truncate: options.truncate,
          access: options.access ?? 0,
          nowMs: this.now(),
        },
      },
    });
  }

  async mkdir(
    path: string,
    mode: number,
    recursive: boolean,
    session?: ClientSession,
    caller?: Caller,
    owner?: Owner,
  ): Promise<Inode> {
    return this.mutate(path, {
      session,
      caller,
      command: {
        $case: "mkdir",
        value: {
          path,
          mode,
          ...ownerIds(owner, caller),
          recursive,
          nowMs: this.now(),
        },
      },
    });
  }

  async rmdir(path: string, session?: ClientSession, caller?: Caller): Promise<void> {
    await this.propose(path, {
      session,
      caller,
      command: { $case: "rmdir", value: { path, nowMs: this.now() } },
    });
  }

  async unlink(path: string, session?: ClientSession, caller?: Caller): Promise<void> {
    await this.propose(path, {
      session,
      caller,
      command: { $case: "unlink", value: { path, nowMs: this.now() } },
    });
  }

  async rename(from: string, to: string, session?: ClientSession, caller?: Caller): Promise<void> {
    await this.propose(from, {
      session,
      caller,
      command: { $case: "rename", value: { from, to, nowMs: this.now() } },
    });
  }

  async link(from: string, to: string, session?: ClientSession, caller?: Caller): Promise<Inode> {
    return this.mutate(from, {
      session,
      caller,
      command: { $case: "link", value: { from, to, nowMs: this.now() } },
    });
  }

  async symlink(
    path: string,
    target: string,
    session?: ClientSession,
    caller?: Caller,
    owner?: Owner,
  ): Promise<Inode> {
    return this.mutate(path, {
      session,
      caller,
      command: {
        $case: "symlink",
        value: {
          path,
          target,
          ...ownerIds(owner, caller),
          nowMs: this.now(),
        },
      },
    });
  }

  async mknod(
    path: string,
    special: SpecialFile,
    session?: ClientSession,
    caller?: Caller,
    owner?: Owner,
  ): Promise<Inode> {
    return this.mutate(path, {
      session,
      caller,
      command: {
        $case: "mknod",
        value: {
          path,
          ...special,
          ...ownerIds(owner, caller),
          nowMs: this.now(),
        },
      },
    });
  }

  async setAttr(
    path: string,
    changes: AttrChanges,
    session?: ClientSession,
    caller?: Caller,
  ): Promise<Inode> {
    return this.mutate(path, {
      session,
      caller,
      command: {
        $case: "setAttr",
        value: {
          path,
          mode: changes.mode,
          size: changes.size,
          atimeMs: changes.atimeMs,
          mtimeMs: changes.mtimeMs,
          uid: changes.uid,
          gid: changes.gid,
          xattrs: [...(changes.xattrs ?? [])],
          nowMs: this.now(),
        },
      },
    });
  }

  async readDir(
    path: string,
    afterName: string,
    limit: number,
    options?: ReadOptions,
  ): Promise<DirPage> {
    await this.barrier(options);
    return this.o.store.readDir(path, afterName, limit, options?.caller);
  }

  async prepareWrite(
    inodeId: number,
    slotIndex: number,
    path: string,
    session?: ClientSession,
    caller?: Caller,
  ): Promise<WriteIntent> {
    const settings = await this.settings();
    await this.o.replicator.readBarrier();
    const inode = this.regularFile(inodeId, path);
    // The commit decides; refusing here saves writing R copies the commit would refuse.
    this.o.store.checkAccess(inode, caller, W_OK, path);
    const [current] = this.o.store.chunkSlots(inode.id, slotIndex, slotIndex + 1);
    // Candidates: live data nodes, not draining, with room for a whole chunk (as they last
    // reported).
    const draining = this.o.store.drainingNodes();
    const live = this.o.membership
      .liveMembers("data")
      .filter((node) => !draining.includes(node.id));
    const roomy = live.filter(
      (node) => node.freeBytes === undefined || node.freeBytes >= settings.chunkSize,
    );
    const chunkId = randomBytes(16).toString("hex");
    const targets = this.o.placement.place(
      chunkId,
      roomy,
      Math.min(settings.replicationFactor, roomy.length),
    );
    const writeQuorum = Math.min(settings.writeQuorum, this.o.membership.members("data").length);
    if (targets.length < writeQuorum) {
      if (live.length >= writeQuorum)
        throw fsError(
          "ENOSPC",
          path,
          `${live.length - roomy.length} of ${live.length} live data nodes are full`,
        );
      throw fsError("EAGAIN", path, `${live.length} live data nodes, a write needs ${writeQuorum}`);
    }
    return {
      path,
      inodeId,
      slotIndex,
      current,
      chunkId,
      targets,
      writeQuorum,
      session,
      caller,
    };
  }

  async writeInline(
    inodeId: number,
    slotIndex: number,
    offsetInSlot: number,
    data: Buffer,
    path: string,
    session?: ClientSession,
    caller?: Caller,
  ): Promise<Inode | undefined> {
    // This node's view, read without a barrier, is a hint only: when it shows the write would
    // be refused (the slot holds a chunk, or would outgrow the limit), the round of consensus
    // is saved. Anything else is decided when the command is applied.
    const [current] = this.o.store.chunkSlots(inodeId, slotIndex, slotIndex + 1);
    if (!inlineWriteFits(current, offsetInSlot + data.length)) return undefined;
    const result = await this.o.replicator.propose({
      session,
      caller,
      command: {
        $case: "writeInline",
        value: { inodeId, slotIndex, offset: offsetInSlot, data, nowMs: this.now() },
      },
    });
    if (result.errno === "NOT_INLINE") return undefined;
    return this.unwrap(path, result);
  }

  async commitWrite(intent: WriteIntent, written: WrittenChunk): Promise<CommitOutcome> {
    const result = await this.o.replicator.propose({
      session: intent.session,
      caller: intent.caller,
      command: {
        $case: "commitChunk",
        value: {
          inodeId: intent.inodeId,
          slotIndex: intent.slotIndex,
          expectedVersion: intent.current?.version ?? 0,
          chunkId: intent.chunkId,
          length: written.length,
          checksum: written.checksum,
          replicas: [...written.replicas],
          minFileSize: written.minFileSize,
          nowMs: this.now(),
        },
      },
    });
    if (result.errno === "VERSION_CONFLICT") return { committed: false };
    return { committed: true, inode: this.unwrap(intent.path, result) };
  }

  async resolveRead(
    inodeId: number,
    offset: number,
    length: number,
    path: string,
    options?: ReadOptions,
  ): Promise<ReadPlan> {
    await this.barrier(options);
    const inode = this.regularFile(inodeId, path);
    this.o.store.checkAccess(inode, options?.caller, R_OK, path);
    const { chunkSize } = await this.settings();
    const end = Math.min(inode.size, offset + length);
    const slots =
      end > offset
        ? this.o.store.chunkSlots(
            inode.id,
            Math.floor(offset / chunkSize),
            Math.ceil(end / chunkSize),
          )
        : [];
    return { inode, slots, chunkSize };
  }

  async chunkReplicas(chunkId: string): Promise<readonly string[] | undefined> {
    return this.o.store.chunkReplicas(chunkId);
  }

  async scanChunkSlots(after: SlotCursor | undefined, limit: number) {
    await this.o.replicator.readBarrier();
    return this.o.store.scanChunkSlots(after, limit);
  }

  async recordReplicas(
    inodeId: number,
    slotIndex: number,
    chunkId: string,
    replicas: readonly string[],
  ): Promise<boolean> {
    const result = await this.o.replicator.propose({
      session: undefined,
      caller: undefined,
      command: {
        $case: "recordReplicas",
        value: { inodeId, slotIndex, chunkId, replicas: [...replicas] },
      },
    });
    if (result.errno === "VERSION_CONFLICT" || result.errno === "ENOENT") return false;
    this.unwrap(`inode ${inodeId}`, result);
    return true;
  }

  async addUser(user: NewUser, caller?: Caller): Promise<UserCredentials> {
    return this.putUser(user, false, caller);
  }

  async resetSecret(name: string, caller?: Caller): Promise<UserCredentials> {
    await this.o.replicator.readBarrier();
    const existing = this.o.store.getUser(name);
    if (!existing) throw fsError("ENOENT", `user ${name}`);
    return this.putUser(existing, true, caller);
  }

  async removeUser(name: string, caller?: Caller): Promise<void> {
    await this.propose(`user ${name}`, {
      session: undefined,
      caller,
      command: { $case: "removeUser", value: { name } },
    });
  }

  /**
   * Marks data server `nodeId` draining, or not, through the log; resolves once committed.
   * Throws NotLeaderError, or SandstoreError EINVAL (a malformed id) or ENOSPC (too many).
   */
  async setDraining(nodeId: string, draining: boolean): Promise<void> {
    await this.propose(`data server ${nodeId}`, {
      session: undefined,
      caller: undefined,
      command: { $case: "setDraining", value: { nodeId, draining } },
    });
  }

  /**
   * Records where metadata group member `nodeId` listens, through the log; resolves once
   * committed. Throws NotLeaderError, or SandstoreError EINVAL or ENOSPC.
   */
  async recordMemberAddress(nodeId: string, address: string): Promise<void> {
    await this.propose(`member ${nodeId}`, {
      session: undefined,
      caller: undefined,
      command: { $case: "setMemberAddress", value: { nodeId, address } },
    });
  }

  /** The data servers marked draining, as this node has applied the log. */
  drainingNodes(): string[] {
    return this.o.store.drainingNodes();
  }

  async listUsers() {
    await this.o.replicator.readBarrier();
    return this.o.store.listUsers();
  }

  async userByAccessKey(accessKeyId: string) {
    return this.o.store.findUserByAccessKey(accessKeyId);
  }

  /**
   * Proposes a user with fresh credentials. The secret is made and hashed here, on the node
   * that took the request: only its hash enters the log, and the answer is the one place the
   * secret appears.
   */
  private async putUser(
    user: NewUser,
    replace: boolean,
    caller: Caller | undefined,
  ): Promise<UserCredentials> {
    const accessKeyId = `SK${randomBytes(10).toString("hex").toUpperCase()}`;
    const salt = randomBytes(16);
    const secret = this.o.userSecret?.(accessKeyId, salt) ?? randomBytes(32).toString("base64url");
    await this.propose(`user ${user.name}`, {
      session: undefined,
      caller,
      command: {
        $case: "putUser",
        value: {
          replace,
          user: {
            name: user.name,
            uid: user.uid,
            gid: user.gid,
            groups: [...user.groups],
            accessKeyId,
            secretHash: hashSecret(salt, secret),
            salt,
            createdMs: this.now(),
          },
        },
      },
    });
    return { name: user.name, accessKeyId, secret };
  }

  async isLeader(): Promise<boolean> {
    return this.leads();
  }

  /** Other failures than losing leadership, or not confirming it now, throw. */
  async isCurrentLeader(): Promise<boolean> {
    if (!this.leads()) return false;
    try {
      await this.o.replicator.readBarrier();
    } catch (error) {
      if (error instanceof NotLeaderError) return false;
      if (error instanceof UnavailableError) return false;
      throw error;
    }
    return this.leads();
  }

  async stateHash(): Promise<string> {
    return this.o.store.stateHash();
  }

  async status() {
    return { ...this.o.replicator.status(), ...this.o.store.counts() };
  }

  private leads(): boolean {
    return this.o.replicator.status().role === "leader";
  }

  private regularFile(inodeId: number, path: string): Inode {
    const inode = this.o.store.getInode(inodeId);
    if (!inode) throw fsError("ENOENT", path, "the file was removed");
    const notRegular = notRegularErrno(inode.type);
    if (notRegular) throw fsError(notRegular, path);
    return inode;
  }

  private async barrier(options: ReadOptions | undefined): Promise<void> {
    if (!options?.stale) await this.o.replicator.readBarrier();
  }

  private async propose(path: string, command: MetadataCommand): Promise<CommandResult> {
    const result = await this.o.replicator.propose(command);
    this.unwrap(path, result);
    return result;
  }

  private async mutate(path: string, command: MetadataCommand): Promise<Inode> {
    const result = await this.propose(path, command);
    if (!result.inode) throw new Error(`command on ${path} applied without an inode in its result`);
    return result.inode;
  }

  /** Turns a rejected command's result into a SandstoreError; returns the inode otherwise. */
  private unwrap(path: string, result: CommandResult): Inode {
    if (result.errno) {
      const code: Errno = isErrno(result.errno) ? result.errno : "EIO";
      throw new SandstoreError(code, result.errorPath || path);
    }
    return result.inode as Inode;
  }
}

/**
 * The uid and gid a command that makes an entry names: `owner` when given, else the
 * caller's (root without one). The state machine honours them for root callers only.
 */
function ownerIds(owner: Owner | undefined, caller: Caller | undefined) {
  return { uid: owner?.uid ?? caller?.uid ?? 0, gid: owner?.gid ?? caller?.gid ?? 0 };
}
