/**
 * The node server: binds the control and data planes to `FileServiceApi`. It validates every
 * request (paths, numbers, sizes) and hands the planes only well-formed input; it never
 * changes when a topology is added.
 */
import type { DiskSpace } from "../common/disk-space.ts";
import { fsError, UnavailableError } from "../common/errors.ts";
import { normalizePath, symlinkTargetProblem } from "../common/paths.ts";
import type { ControlPlane } from "../control/control-plane.ts";
import type { DataPlane } from "../data/data-plane.ts";
import type { MaintenanceStatus, NodeEvent } from "../gen/sandstore/v1/file_service.ts";
import type { ClientSession, Owner, XattrChange } from "../gen/sandstore/v1/metadata.ts";
import type { Membership, NodeRole } from "../membership/membership.ts";
import {
  MAX_CLIENT_ID_LENGTH,
  MAX_READDIR_PAGE,
  MAX_XATTR_TOTAL_BYTES,
} from "../metadata/namespace.ts";
import { R_OK, W_OK, X_OK } from "../metadata/permissions.ts";
import type {
  CallInfo,
  CreateRequest,
  FileServiceApi,
  LinkRequest,
  MkdirRequest,
  MknodRequest,
  PlacementRequest,
  ReadDirRequest,
  ReadRequest,
  RenameRequest,
  RmdirRequest,
  SetAttrRequest,
  StatRequest,
  StatusRequest,
  StatusResponse,
  SymlinkRequest,
  UnlinkRequest,
  WriteChunkHeader,
} from "../transport/file-service-api.ts";
import type { ClientAuthenticator } from "./client-authenticator.ts";
import { filePlacement } from "./file-placement.ts";

/** Largest range one Read call may ask for; clients split larger reads. */
export const MAX_READ_LENGTH = 64 * 1024 * 1024;

export interface NodeServerOptions {
  readonly topology: string;
  /** What this node serves, for status: a node without `metadata` reports role `data`. */
  readonly roles: readonly NodeRole[];
  /**
   * The namespace: this node's own control plane when it is a metadata server, or a remote
   * one (a data server's, which forwards a client's namespace calls).
   */
  readonly control: ControlPlane;
  /**
   * File bytes through this server. Absent on a metadata server of a topology whose clients
   * move bytes to the data servers themselves: reads and writes here are refused ENOTSUP.
   */
  readonly data?: DataPlane;
  /**
   * Client bytes this node moved by other paths than this server (a data server's chunk
   * service), added to its own for status.
   */
  readonly otherClientBytes?: () => { written: number; read: number };
  readonly membership: Membership;
  /** Chunks and bytes this node's chunk store holds. */
  readonly chunkUsage: () => { chunks: number; bytes: number };
  /** Progress of repair and garbage collection, for topologies that run them. */
  readonly maintenance?: () => Promise<MaintenanceStatus>;
  /** Who each call's client is (`--auth`): every call but status is authenticated first. */
  readonly authenticator: ClientAuthenticator;
  /**
   * This node's disk: calls that add data or metadata are refused ENOSPC before it fills,
   * and deletes may release its reserve. Absent: the disk is not watched (memory stores).
   */
  readonly space?: DiskSpace;
  /** The data servers the metadata marks draining, on a node that holds the metadata. */
  readonly drainingNodes?: () => readonly string[];
  /** File operations served since start and their summed seconds (the node's metrics). */
  readonly operationTotals?: () => { count: number; seconds: number };
  /** Where this node serves HTTP, once it does; empty or absent without. */
  readonly httpAddress?: () => string;
  /** This node's recent events, oldest first (NodeEvents), for status when asked. */
  readonly events?: () => NodeEvent[];
  /**
   * Has node `nodeId` verify its whole copy of a chunk against `checksum` (ReplicaAccess's
   * `verifyChunk`), for a placement that asks; absent on a node that cannot reach copies.
   */
  readonly verifyCopy?: (nodeId: string, chunkId: string, checksum: number) => Promise<number>;
}

/** The session of a mutation, validated: absent, or a bounded id and safe sequence numbers. */
function checkSession(session: ClientSession | undefined, path: string): ClientSession | undefined {
  if (!session) return undefined;
  if (session.clientId.length === 0 || session.clientId.length > MAX_CLIENT_ID_LENGTH)
    throw fsError("EINVAL", path, `client id must be 1 to ${MAX_CLIENT_ID_LENGTH} characters`);
  checkCount(session.sequence, "session sequence", path);
  checkCount(session.acknowledgedBelow, "session acknowledgement", path);
  if (session.acknowledgedBelow > session.sequence)
    throw fsError("EINVAL", path, "session acknowledges a sequence it has not sent");
  return session;
}

function checkMode(mode: number, path: string): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777)
    throw fsError("EINVAL", path, `bad mode ${mode}`);
  return mode;
}

/** A new entry's owner as a request names it: ids of 0 to 4294967294 (-1 is "no change"). */
function checkOwner(owner: Owner | undefined, path: string): Owner | undefined {
  if (!owner) return undefined;
  for (const [value, what] of [
    [owner.uid, "uid"],
    [owner.gid, "gid"],
  ] as const)
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_fffe)
      throw fsError("EINVAL", path, `bad owner ${what} ${value}`);
  return owner;
}

/** Extended attribute changes a request may carry at most: each within the inode's total. */
const MAX_XATTR_CHANGES = 256;

/** A request's xattr changes, bounded in count and size (the namespace checks each name). */
function checkXattrs(changes: XattrChange[], path: string): XattrChange[] {
  if (changes.length > MAX_XATTR_CHANGES)
    throw fsError("EINVAL", path, `at most ${MAX_XATTR_CHANGES} extended attribute changes`);
  let bytes = 0;
  for (const change of changes) bytes += Buffer.byteLength(change.name) + change.value.length;
  if (bytes > MAX_XATTR_TOTAL_BYTES)
    throw fsError("EINVAL", path, `extended attributes over ${MAX_XATTR_TOTAL_BYTES} bytes`);
  return changes;
}

function checkAccessBits(access: number, path: string): number {
  if (!Number.isInteger(access) || access < 0 || access > (R_OK | W_OK | X_OK))
    throw fsError("EINVAL", path, `bad access bits ${access}`);
  return access;
}

function checkId(value: number | undefined, what: string, path: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_fffe)
    throw fsError("EINVAL", path, `bad ${what} ${value}`);
  return value;
}

/** Longest path an error message may quote from a request header (SPEC §3's limit). */
const MAX_PATH_LABEL_BYTES = 4096;

function checkLabel(label: string, inodeId: number): string {
  return label === "" || Buffer.byteLength(label) > MAX_PATH_LABEL_BYTES
    ? `inode ${inodeId}`
    : label;
}

function checkCount(value: number, what: string, path: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw fsError("EINVAL", path, `bad ${what} ${value}`);
  return value;
}

export class NodeServer implements FileServiceApi {
  /** File bytes clients wrote and read through this server since start. */
  private clientBytesWritten = 0;
  private clientBytesRead = 0;

  constructor(private readonly o: NodeServerOptions) {}

  /** The data plane, or ENOTSUP on a node that moves no file bytes. */
  private dataPlane(path: string): DataPlane {
    if (!this.o.data)
      throw fsError(
        "ENOTSUP",
        path,
        `a ${this.o.topology} metadata server moves no file bytes: clients read and write the data servers`,
      );
    return this.o.data;
  }

  async stat(request: StatRequest, call?: CallInfo) {
    const path = normalizePath(request.path);
    const access = checkAccessBits(request.access, path);
    const caller = await this.o.authenticator.identify(call, path);
    const inode = await this.o.control.stat(path, { caller, access });
    return { inode, chunkSize: (await this.o.control.settings()).chunkSize };
  }

  async create(request: CreateRequest, call?: CallInfo) {
    const path = normalizePath(request.path);
    const options = {
      mode: checkMode(request.mode, path),
      exclusive: request.exclusive,
      truncate: request.truncate,
      access: checkAccessBits(request.access, path),
    };
    const session = checkSession(request.session, path);
    const caller = await this.o.authenticator.identify(call, path);
    this.o.space?.admitWrite(0, path);
    const owner = checkOwner(request.owner, path);
    const inode = await this.o.control.create(path, options, session, caller, owner);
    return { inode, chunkSize: (await this.o.control.settings()).chunkSize };
  }

  async mkdir(request: MkdirRequest, call?: CallInfo) {
    const path = normalizePath(request.path);
    const mode = checkMode(request.mode, path);
    const session = checkSession(request.session, path);
    const caller = await this.o.authenticator.identify(call, path);
    this.o.space?.admitWrite(0, path);
    return {
      inode: await this.o.control.mkdir(
        path,
        mode,
        request.recursive,
        session,
        caller,
        checkOwner(request.owner, path),
      ),
    };
  }

  async rmdir(request: RmdirRequest, call?: CallInfo) {
    const path = normalizePath(request.path);
    const session = checkSession(request.session, path);
    const caller = await this.o.authenticator.identify(call, path);
    await this.o.space?.beforeDelete();
    await this.o.control.rmdir(path, session, caller);
  }

  async unlink(request: UnlinkRequest, call?: CallInfo) {
    const path = normalizePath(request.path);
    const session = checkSession(request.session, path);
    const caller = await this.o.authenticator.identify(call, path);
    await this.o.space?.beforeDelete();
    await this.o.control.unlink(path, session, caller);
  }

  async rename(request: RenameRequest, call?: CallInfo) {
    const from = normalizePath(request.from);
    const to = normalizePath(request.to);
    const session = checkSession(request.session, from);
    const caller = await this.o.authenticator.identify(call, from);
    // A rename may replace (delete) its target, but adds an entry too: it is a write.
    this.o.space?.admitWrite(0, from);
    await this.o.control.rename(from, to, session, caller);
  }

  async link(request: LinkRequest, call?: CallInfo) {
    const from = normalizePath(request.from);
    const to = normalizePath(request.to);
    const session = checkSession(request.session, from);
    const caller = await this.o.authenticator.identify(call, from);
    this.o.space?.admitWrite(0, to);
    return { inode: await this.o.control.link(from, to, session, caller) };
  }

  async symlink(request: SymlinkRequest, call?: CallInfo) {
    const path = normalizePath(request.path);
    const problem = symlinkTargetProblem(request.target);
    if (problem) throw fsError(problem.code, path, problem.detail);
    const session = checkSession(request.session, path);
    const caller = await this.o.authenticator.identify(call, path);
    this.o.space?.admitWrite(0, path);
    const owner = checkOwner(request.owner, path);
    return { inode: await this.o.control.symlink(path, request.target, session, caller, owner) };
  }

  async mknod(request: MknodRequest, call?: CallInfo) {
    const path = normalizePath(request.path);
    const special = {
      type: request.type,
      mode: checkMode(request.mode, path),
      rdev: request.rdev,
    };
    const session = checkSession(request.session, path);
    const caller = await this.o.authenticator.identify(call, path);
    this.o.space?.admitWrite(0, path);
    const owner = checkOwner(request.owner, path);
    return { inode: await this.o.control.mknod(path, special, session, caller, owner) };
  }

  async setAttr(request: SetAttrRequest, call?: CallInfo) {
    const path = normalizePath(request.path);
    const caller = await this.o.authenticator.identify(call, path);
    // A truncate alone frees space (or grows a hole, which takes none): let it through.
    const truncateOnly =
      request.size !== undefined &&
      request.mode === undefined &&
      request.atimeMs === undefined &&
      request.mtimeMs === undefined &&
      request.uid === undefined &&
      request.gid === undefined &&
      request.xattrs.length === 0;
    if (truncateOnly) await this.o.space?.beforeDelete();
    else this.o.space?.admitWrite(0, path);
    const inode = await this.o.control.setAttr(
      path,
      {
        ...(request.mode !== undefined && { mode: checkMode(request.mode, path) }),
        ...(request.size !== undefined && { size: checkCount(request.size, "size", path) }),
        ...(request.atimeMs !== undefined && {
          atimeMs: checkCount(request.atimeMs, "atime", path),
        }),
        ...(request.mtimeMs !== undefined && {
          mtimeMs: checkCount(request.mtimeMs, "mtime", path),
        }),
        ...(request.uid !== undefined && { uid: checkId(request.uid, "uid", path) }),
        ...(request.gid !== undefined && { gid: checkId(request.gid, "gid", path) }),
        ...(request.xattrs.length > 0 && { xattrs: checkXattrs(request.xattrs, path) }),
      },
      checkSession(request.session, path),
      caller,
    );
    return { inode };
  }

  async readDir(request: ReadDirRequest, call?: CallInfo) {
    const path = normalizePath(request.path);
    if (Buffer.byteLength(request.afterName) > 255)
      throw fsError("ENAMETOOLONG", path, "the name to list after is over 255 bytes");
    checkCount(request.limit, "page size", path);
    const limit =
      request.limit === 0 ? MAX_READDIR_PAGE : Math.min(request.limit, MAX_READDIR_PAGE);
    const caller = await this.o.authenticator.identify(call, path);
    return this.o.control.readDir(path, request.afterName, limit, { caller });
  }

  async writeChunk(header: WriteChunkHeader, data: Buffer, call?: CallInfo) {
    const path = checkLabel(header.path, header.inodeId);
    checkCount(header.inodeId, "inode", path);
    checkCount(header.slotIndex, "chunk slot", path);
    checkCount(header.offsetInSlot, "offset", path);
    if (data.length === 0) throw fsError("EINVAL", path, "empty write");
    const session = checkSession(header.session, path);
    const plane = this.dataPlane(path);
    const caller = await this.o.authenticator.identify(call, path);
    this.o.space?.admitWrite(data.length, path);
    this.clientBytesWritten += data.length;
    return {
      inode: await plane.writeRange(
        header.inodeId,
        header.slotIndex,
        header.offsetInSlot,
        data,
        path,
        session,
        caller,
      ),
    };
  }

  read(request: ReadRequest, call?: CallInfo): AsyncIterable<Buffer> {
    const path = checkLabel(request.path, request.inodeId);
    checkCount(request.inodeId, "inode", path);
    checkCount(request.offset, "offset", path);
    checkCount(request.length, "length", path);
    if (request.length > MAX_READ_LENGTH)
      throw fsError("EINVAL", path, "read over 64 MiB in one call");
    return this.readAs(request, path, this.dataPlane(path), call);
  }

  private async *readAs(
    request: ReadRequest,
    path: string,
    data: DataPlane,
    call: CallInfo | undefined,
  ) {
    // With auth off there is no one to identify, and no call to make for it.
    const caller =
      this.o.authenticator.mode === "off"
        ? undefined
        : await this.o.authenticator.identify(call, path);
    for await (const piece of data.readRange(
      request.inodeId,
      request.offset,
      request.length,
      path,
      caller === undefined ? undefined : { caller },
    )) {
      this.clientBytesRead += piece.length;
      yield piece;
    }
  }

  async placement(request: PlacementRequest, call?: CallInfo) {
    const path = normalizePath(request.path);
    const caller = await this.o.authenticator.identify(call, path);
    const membership = this.o.membership;
    return filePlacement(
      {
        control: this.o.control,
        addressOf: (nodeId) =>
          membership.members().find((member) => member.id === nodeId)?.address ?? "",
        liveIds: () => new Set(membership.liveMembers().map((member) => member.id)),
        verifyCopy: this.o.verifyCopy,
      },
      path,
      caller,
      { fromSlot: request.fromSlot, limit: request.limit, verify: request.verify },
    );
  }

  async status(request?: StatusRequest): Promise<StatusResponse> {
    const metadataRole = this.o.roles.includes("metadata");
    const status = await this.o.control.status();
    const maintenance = await this.o.maintenance?.();
    // A new cluster answers status before its settings are decided: zeros until then.
    const settings = await this.o.control.settings().catch((error: unknown) => {
      if (error instanceof UnavailableError) return undefined;
      throw error;
    });
    const self = this.o.membership.self();
    const usage = this.o.chunkUsage();
    const disk = this.o.space?.status();
    const draining = new Set(this.o.drainingNodes?.() ?? []);
    const liveIds = new Set(this.o.membership.liveMembers().map((member) => member.id));
    // This node's own figures; the other members only by name, for a client to ask them.
    const others = this.o.membership
      .members()
      .filter((member) => member.id !== self.id)
      .map((member) => ({
        id: member.id,
        address: member.address,
        role: "unknown",
        term: 0,
        commitIndex: 0,
        appliedIndex: 0,
        live: false,
        chunkCount: 0,
        chunkBytes: 0,
        stateHash: "",
        diskFreeBytes: 0,
        diskTotalBytes: 0,
        diskAlarm: false,
        roles: [...member.roles],
        clientBytesWritten: 0,
        clientBytesRead: 0,
        membershipStale: false,
        memberLive: liveIds.has(member.id),
        draining: draining.has(member.id),
        fileOperationsTotal: 0,
        fileOperationSecondsTotal: 0,
        httpAddress: "",
        events: [],
      }));
    const operations = this.o.operationTotals?.() ?? { count: 0, seconds: 0 };
    const other = this.o.otherClientBytes?.() ?? { written: 0, read: 0 };
    return {
      nodes: [
        {
          id: self.id,
          address: self.address,
          // A data server is no member of the metadata group: its Raft figures are not its own.
          role: metadataRole ? status.role : "data",
          term: metadataRole ? status.term : 0,
          commitIndex: metadataRole ? status.commitIndex : 0,
          appliedIndex: metadataRole ? status.appliedIndex : 0,
          live: true,
          chunkCount: usage.chunks,
          chunkBytes: usage.bytes,
          stateHash: metadataRole && request?.withStateHash ? await this.o.control.stateHash() : "",
          maintenance,
          diskFreeBytes: disk?.freeBytes ?? 0,
          diskTotalBytes: disk?.totalBytes ?? 0,
          diskAlarm: disk?.alarm ?? false,
          roles: [...this.o.roles],
          clientBytesWritten: this.clientBytesWritten + other.written,
          clientBytesRead: this.clientBytesRead + other.read,
          membershipStale: this.o.membership.isStale(),
          memberLive: true,
          draining: draining.has(self.id),
          fileOperationsTotal: operations.count,
          fileOperationSecondsTotal: operations.seconds,
          httpAddress: this.o.httpAddress?.() ?? "",
          events: request?.withEvents ? (this.o.events?.() ?? []) : [],
        },
        ...others,
      ],
      leaderId: status.leaderId,
      topology: this.o.topology,
      chunkSize: settings?.chunkSize ?? 0,
      replicationFactor: settings?.replicationFactor ?? 0,
      writeQuorum: settings?.writeQuorum ?? 0,
    };
  }
}
