/**
 * The file service as a plain TypeScript interface: what a node serves and what a client
 * calls, whatever carries the calls. Transports adapt it to the wire (`grpc`) or pass calls
 * straight through (`memory`).
 *
 * Errors are SandstoreError (POSIX code and path) or NotLeaderError, on both sides.
 */
import type {
  CreateRequest,
  CreateResponse,
  LinkRequest,
  LinkResponse,
  MkdirRequest,
  MkdirResponse,
  MknodRequest,
  MknodResponse,
  PlacementRequest,
  PlacementResponse,
  ReadDirRequest,
  ReadDirResponse,
  ReadRequest,
  RenameRequest,
  RmdirRequest,
  SetAttrRequest,
  SetAttrResponse,
  StatRequest,
  StatResponse,
  StatusRequest,
  StatusResponse,
  SymlinkRequest,
  SymlinkResponse,
  UnlinkRequest,
  WriteChunkHeader,
  WriteChunkResponse,
} from "../gen/sandstore/v1/file_service.ts";

export type {
  CreateRequest,
  CreateResponse,
  LinkRequest,
  LinkResponse,
  MkdirRequest,
  MkdirResponse,
  MknodRequest,
  MknodResponse,
  PlacementRequest,
  PlacementResponse,
  ReadDirRequest,
  ReadDirResponse,
  ReadRequest,
  RenameRequest,
  RmdirRequest,
  SetAttrRequest,
  SetAttrResponse,
  StatRequest,
  StatResponse,
  StatusRequest,
  StatusResponse,
  SymlinkRequest,
  SymlinkResponse,
  UnlinkRequest,
  WriteChunkHeader,
  WriteChunkResponse,
};

/** A user's access key and secret, as a client presents them. */
export interface ClientCredentials {
  readonly accessKeyId: string;
  readonly secret: string;
}

/**
 * Who a call came from, as the transport saw it: what a server authenticates. Servers get it
 * with every call; clients leave it out (their credentials travel with their connection).
 */
export interface CallInfo {
  /** The access key and secret the call carried, if any. */
  readonly credentials?: ClientCredentials;
  /** Where it came from (an address), for a limit on failed attempts per source. */
  readonly source: string;
}

export interface FileServiceApi {
  stat(request: StatRequest, call?: CallInfo): Promise<StatResponse>;
  create(request: CreateRequest, call?: CallInfo): Promise<CreateResponse>;
  mkdir(request: MkdirRequest, call?: CallInfo): Promise<MkdirResponse>;
  rmdir(request: RmdirRequest, call?: CallInfo): Promise<void>;
  unlink(request: UnlinkRequest, call?: CallInfo): Promise<void>;
  rename(request: RenameRequest, call?: CallInfo): Promise<void>;
  link(request: LinkRequest, call?: CallInfo): Promise<LinkResponse>;
  symlink(request: SymlinkRequest, call?: CallInfo): Promise<SymlinkResponse>;
  mknod(request: MknodRequest, call?: CallInfo): Promise<MknodResponse>;
  setAttr(request: SetAttrRequest, call?: CallInfo): Promise<SetAttrResponse>;
  readDir(request: ReadDirRequest, call?: CallInfo): Promise<ReadDirResponse>;
  /** Writes `data` at the header's place in one chunk slot (`DataPlane.writeRange`). */
  writeChunk(header: WriteChunkHeader, data: Buffer, call?: CallInfo): Promise<WriteChunkResponse>;
  /** Streams a byte range of a file in pieces of at most 1 MiB. */
  read(request: ReadRequest, call?: CallInfo): AsyncIterable<Buffer>;
  /**
   * This node's view of the cluster; `withStateHash` adds a hash of its metadata state. It
   * asks for no credentials: nodes probe each other with it, and it holds no file data.
   */
  status(request?: StatusRequest): Promise<StatusResponse>;
  /**
   * A page of the chunk slots of the file at `path`, each copy with its node and health (as
   * the proto's PlacementRequest says), as the caller may read the file.
   */
  placement(request: PlacementRequest, call?: CallInfo): Promise<PlacementResponse>;
}
