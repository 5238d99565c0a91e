/**
 * How the REST API answers a failure: an HTTP status for the error's kind, and a JSON body
 * that names the POSIX code, the path and what was wrong (docs/http.md lists them).
 */
import {
  type Errno,
  NotLeaderError,
  SandstoreError,
  UnavailableError,
} from "../../common/errors.ts";

/** The body of every error the API sends. */
export interface ErrorBody {
  readonly error: {
    /** A POSIX code (`ENOENT`...), as the SDK and the mount report it. */
    readonly code: Errno;
    readonly message: string;
    /** The path the error is about; empty when it is about none. */
    readonly path: string;
  };
}

/** The JSON schema of `ErrorBody`, for the OpenAPI document. */
export const ERROR_BODY_SCHEMA = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "path"],
      properties: {
        code: { type: "string", description: "POSIX error code, e.g. ENOENT" },
        message: { type: "string" },
        path: { type: "string" },
      },
    },
  },
} as const;

const STATUS_OF: Record<Errno, number> = {
  ENOENT: 404,
  EEXIST: 409,
  ENOTDIR: 409,
  EISDIR: 409,
  ENOTEMPTY: 409,
  EINVAL: 400,
  ENAMETOOLONG: 400,
  EBADF: 400,
  EXDEV: 400,
  // Permission denied to a user who proved who they are; a user who did not gets 401 (below).
  EACCES: 403,
  EPERM: 403,
  ENOSPC: 507,
  EIO: 500,
  EAGAIN: 503,
  ETIMEDOUT: 504,
  ENOTSUP: 501,
  ELOOP: 409,
  EMLINK: 409,
};

/** An error the API sends as is: a status, a code and a message of its own. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: Errno,
    message: string,
    readonly path = "",
  ) {
    super(message);
  }
}

/** The status and body for `error`; undefined for an error that is no one's but ours (a bug). */
export function answerError(error: unknown): { status: number; body: ErrorBody } | undefined {
  if (error instanceof HttpError)
    return {
      status: error.status,
      body: { error: { code: error.code, message: error.message, path: error.path } },
    };
  if (error instanceof SandstoreError)
    return {
      status: STATUS_OF[error.code],
      body: { error: { code: error.code, message: error.message, path: error.path } },
    };
  if (error instanceof UnavailableError)
    return {
      status: error.errno === "ETIMEDOUT" ? 504 : 503,
      body: { error: { code: error.errno, message: error.message, path: "" } },
    };
  // The SDK follows the leader itself: one that reaches here found none in its deadline.
  if (error instanceof NotLeaderError)
    return { status: 503, body: { error: { code: "EAGAIN", message: error.message, path: "" } } };
  return undefined;
}
