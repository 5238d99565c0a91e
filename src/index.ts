/**
 * The `sandstore` package: the SDK and its errors.
 */
export { type ConnectOptions, connect } from "./client/connect.ts";
export { CredentialsFileError } from "./client/credentials-file.ts";
export type {
  CopyHealth,
  FileKind,
  FilePlacement,
  StatusOptions,
} from "./client/namespace-operations.ts";
export {
  type DirEntry,
  O_APPEND,
  O_CREAT,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  SandstoreClient,
  type SandstoreClientOptions,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
  type Stats,
} from "./client/sandstore-client.ts";
export { type Errno, NotLeaderError, SandstoreError, UnavailableError } from "./common/errors.ts";
export type { Owner } from "./gen/sandstore/v1/metadata.ts";
export type { ClientCredentials } from "./transport/file-service-api.ts";
