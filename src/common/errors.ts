/**
 * Typed errors shared by every layer. Callers branch on `code`, never on message text.
 */

/** The POSIX error names Sandstore reports (SPEC §3). */
export const ERRNO_CODES = [
  "ENOENT",
  "EEXIST",
  "ENOTDIR",
  "EISDIR",
  "ENOTEMPTY",
  "EINVAL",
  "ENAMETOOLONG",
  "EBADF",
  "EACCES",
  "EPERM",
  "ENOSPC",
  "EIO",
  "EAGAIN",
  "ETIMEDOUT",
  "EXDEV",
  "ENOTSUP",
  "ELOOP",
  "EMLINK",
] as const;

/** One POSIX error name. */
export type Errno = (typeof ERRNO_CODES)[number];

const DESCRIPTIONS: Record<Errno, string> = {
  ENOENT: "no such file or directory",
  EEXIST: "file exists",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  ENOTEMPTY: "directory not empty",
  EINVAL: "invalid argument",
  ENAMETOOLONG: "file name too long",
  EBADF: "bad file descriptor",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on device",
  EIO: "input/output error",
  EAGAIN: "resource temporarily unavailable",
  ETIMEDOUT: "operation timed out",
  EXDEV: "invalid cross-device link",
  ENOTSUP: "operation not supported",
  ELOOP: "too many levels of symbolic links",
  EMLINK: "too many links",
};

/** True when `value` is one of the POSIX error names Sandstore reports. */
export function isErrno(value: string): value is Errno {
  return (ERRNO_CODES as readonly string[]).includes(value);
}

/**
 * A file-system error with a POSIX code and the path it is about. The message reads like
 * the C library's (`stat /a/b: no such file or directory`), with an optional detail.
 */
export class SandstoreError extends Error {
  override readonly name = "SandstoreError";
  readonly code: Errno;
  readonly path: string;
  readonly detail: string;

  constructor(code: Errno, path: string, detail = "") {
    const base = DESCRIPTIONS[code];
    super(`${path ? `${path}: ` : ""}${base}${detail ? ` (${detail})` : ""}`);
    this.code = code;
    this.path = path;
    this.detail = detail;
  }

  /** The description of the code alone, as strerror(3) gives it. */
  get description(): string {
    return DESCRIPTIONS[this.code];
  }
}

/**
 * The node that received a request is not the leader. `leaderAddress` is the address of the
 * node believed to lead, or empty while no leader is known.
 */
export class NotLeaderError extends Error {
  override readonly name = "NotLeaderError";
  readonly code = "NOT_LEADER";
  readonly leaderId: string;
  readonly leaderAddress: string;

  constructor(leaderId: string, leaderAddress: string) {
    super(leaderAddress ? `not the leader; the leader is ${leaderAddress}` : "no leader known");
    this.leaderId = leaderId;
    this.leaderAddress = leaderAddress;
  }
}

/** Shorthand for `new SandstoreError(code, path, detail)`. */
export function fsError(code: Errno, path: string, detail = ""): SandstoreError {
  return new SandstoreError(code, path, detail);
}

/**
 * A node, or the cluster through it, could not answer: unreachable, timed out, overloaded,
 * stopping, or a new cluster whose settings are not decided yet. About the cluster, never
 * about a file, so a client tries another node (or the same one later). The outcome of the
 * call is unknown (it may yet be applied), which a session makes safe to retry. `errno` is
 * how a POSIX surface (the CLI, a mount) reports it: EAGAIN, or ETIMEDOUT when the node did
 * not answer in time.
 */
export class UnavailableError extends Error {
  override readonly name = "UnavailableError";
  readonly code = "UNAVAILABLE";

  constructor(
    readonly errno: "EAGAIN" | "ETIMEDOUT",
    /** The node that was asked (`host:port`), empty when none was. */
    readonly address: string,
    detail: string,
  ) {
    super(`cluster unavailable${address ? ` at ${address}` : ""}: ${detail}`);
  }
}
