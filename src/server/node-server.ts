/**
 * The node server: binds the control and data planes to `FileServiceApi`. It validates every
 * request (paths, numbers, sizes) and hands the planes only well-formed input; it never
 * changes when a topology is added.
 */
import { fsError } from "../common/errors.ts";
import { normalizePath } from "../common/paths.ts";
import type { ControlPlane } from "../control/control-plane.ts";
import type { DataPlane } from "../data/data-plane.ts";
import type { MaintenanceStatus } from "../gen/sandstore/v1/file_service.ts";
import type { ClientSession } from "../gen/sandstore/v1/metadata.ts";
import type { Membership } from "../membership/membership.ts";
import { MAX_CLIENT_ID_LENGTH, MAX_READDIR_PAGE } from "../metadata/namespace.ts";
import type {
  CreateRequest,
  FileServiceApi,
  MkdirRequest,
  ReadDirRequest,
  ReadRequest,
  RenameRequest,
  RmdirRequest,
  SetAttrRequest,
  StatRequest,
  StatusRequest,
  StatusResponse,
  UnlinkRequest,
  WriteChunkHeader,
} from "../transport/file-service-api.ts";

/** Largest range one Read call may ask for; clients split larger reads. */
export const MAX_READ_LENGTH = 64 * 1024 * 1024;

export interface NodeServerOptions {
  readonly topology: string;
  readonly control: ControlPlane;
  readonly data: DataPlane;
  readonly membership: Membership;
  readonly replicationFactor: number;
  /** Chunks and bytes this node's chunk store holds. */
  readonly chunkUsage: () => { chunks: number; bytes: number };
  /** Progress of repair and garbage collection, for topologies that run them. */
  readonly maintenance?: () => MaintenanceStatus;
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

function checkCount(value: number, what: string, path: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw fsError("EINVAL", path, `bad ${what} ${value}`);
  return value;
}

export class NodeServer implements FileServiceApi {
  constructor(private readonly o: NodeServerOptions) {}

  async stat(request: StatRequest) {
    const inode = await this.o.control.stat(normalizePath(request.path));
    return { inode, chunkSize: this.o.control.chunkSize() };
  }

  async create(request: CreateRequest) {
    const path = normalizePath(request.path);
    const inode = await this.o.control.create(
      path,
      {
        mode: checkMode(request.mode, path),
        exclusive: request.exclusive,
        truncate: request.truncate,
      },
      checkSession(request.session, path),
    );
    return { inode, chunkSize: this.o.control.chunkSize() };
  }

  async mkdir(request: MkdirRequest) {
    const path = normalizePath(request.path);
    return {
      inode: await this.o.control.mkdir(
        path,
        checkMode(request.mode, path),
        request.recursive,
        checkSession(request.session, path),
      ),
    };
  }

  async rmdir(request: RmdirRequest) {
    const path = normalizePath(request.path);
    await this.o.control.rmdir(path, checkSession(request.session, path));
  }

  async unlink(request: UnlinkRequest) {
    const path = normalizePath(request.path);
    await this.o.control.unlink(path, checkSession(request.session, path));
  }

  async rename(request: RenameRequest) {
    const from = normalizePath(request.from);
    await this.o.control.rename(
      from,
      normalizePath(request.to),
      checkSession(request.session, from),
    );
  }

  async setAttr(request: SetAttrRequest) {
    const path = normalizePath(request.path);
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
      },
      checkSession(request.session, path),
    );
    return { inode };
  }

  async readDir(request: ReadDirRequest) {
    const path = normalizePath(request.path);
    const limit =
      request.limit === 0 ? MAX_READDIR_PAGE : Math.min(request.limit, MAX_READDIR_PAGE);
    return this.o.control.readDir(path, request.afterName, limit);
  }

  async writeChunk(header: WriteChunkHeader, data: Buffer) {
    const path = header.path || `inode ${header.inodeId}`;
    checkCount(header.inodeId, "inode", path);
    checkCount(header.slotIndex, "chunk slot", path);
    checkCount(header.offsetInSlot, "offset", path);
    if (data.length === 0) throw fsError("EINVAL", path, "empty write");
    const session = checkSession(header.session, path);
    return {
      inode: await this.o.data.writeRange(
        header.inodeId,
        header.slotIndex,
        header.offsetInSlot,
        data,
        path,
        session,
      ),
    };
  }

  read(request: ReadRequest): AsyncIterable<Buffer> {
    const path = request.path || `inode ${request.inodeId}`;
    checkCount(request.inodeId, "inode", path);
    checkCount(request.offset, "offset", path);
    checkCount(request.length, "length", path);
    if (request.length > MAX_READ_LENGTH)
      throw fsError("EINVAL", path, "read over 64 MiB in one call");
    return this.o.data.readRange(request.inodeId, request.offset, request.length, path);
  }

  async status(request?: StatusRequest): Promise<StatusResponse> {
    const status = this.o.control.status();
    const self = this.o.membership.self();
    const usage = this.o.chunkUsage();
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
      }));
    return {
      nodes: [
        {
          id: self.id,
          address: self.address,
          role: status.role,
          term: status.term,
          commitIndex: status.commitIndex,
          appliedIndex: status.appliedIndex,
          live: true,
          chunkCount: usage.chunks,
          chunkBytes: usage.bytes,
          stateHash: request?.withStateHash ? this.o.control.stateHash() : "",
          maintenance: this.o.maintenance?.(),
        },
        ...others,
      ],
      leaderId: status.leaderId,
      topology: this.o.topology,
      chunkSize: this.o.control.chunkSize(),
      replicationFactor: this.o.replicationFactor,
    };
  }
}
