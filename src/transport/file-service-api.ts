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
  MkdirRequest,
  MkdirResponse,
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
  UnlinkRequest,
  WriteChunkHeader,
  WriteChunkResponse,
} from "../gen/sandstore/v1/file_service.ts";

export type {
  CreateRequest,
  CreateResponse,
  MkdirRequest,
  MkdirResponse,
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
  UnlinkRequest,
  WriteChunkHeader,
  WriteChunkResponse,
};

export interface FileServiceApi {
  stat(request: StatRequest): Promise<StatResponse>;
  create(request: CreateRequest): Promise<CreateResponse>;
  mkdir(request: MkdirRequest): Promise<MkdirResponse>;
  rmdir(request: RmdirRequest): Promise<void>;
  unlink(request: UnlinkRequest): Promise<void>;
  rename(request: RenameRequest): Promise<void>;
  setAttr(request: SetAttrRequest): Promise<SetAttrResponse>;
  readDir(request: ReadDirRequest): Promise<ReadDirResponse>;
  /** Writes `data` at the header's place in one chunk slot (`DataPlane.writeRange`). */
  writeChunk(header: WriteChunkHeader, data: Buffer): Promise<WriteChunkResponse>;
  /** Streams a byte range of a file in pieces of at most 1 MiB. */
  read(request: ReadRequest): AsyncIterable<Buffer>;
  /** This node's view of the cluster; `withStateHash` adds a hash of its metadata state. */
  status(request?: StatusRequest): Promise<StatusResponse>;
}
