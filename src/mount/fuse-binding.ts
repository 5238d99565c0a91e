/**
 * The native FUSE bridge (native/fuse-bridge.c over libfuse3), loaded when a mount starts.
 * Built at `npm install` where Debian's libfuse3-dev is installed (scripts/build-fuse.mjs).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";

/**
 * One operation the kernel asked of the file system, as the bridge hands it over; `exit`
 * (with nothing else) when the mount has ended, answered by no one.
 */
export interface FuseRequest {
  readonly op: string;
  readonly path: string;
  /** rename's and link's destination; symlink's target (`path` is the new link). */
  readonly to?: string;
  /** Per operation: flags, mode (mknod's with its type bits), offset, size, uid, datasync. */
  readonly a: number;
  /** Per operation: create's flags, chown's gid, mknod's device number. */
  readonly b: number;
  /** utimens: access and modification times, ms since the epoch; -1 leaves one as it is. */
  readonly t1: number;
  readonly t2: number;
  /** The user and group of the process that asked (new entries are made for them). */
  readonly uid: number;
  readonly gid: number;
  /** The open file's handle, or -1. */
  readonly fh: number;
  /** read: bytes asked for; write: bytes given. */
  readonly size: number;
  /** write's bytes, a copy owned by JavaScript. */
  readonly data?: Buffer;
  /** The bridge's request, to answer with `reply`. */
  readonly request: unknown;
}

/**
 * What a reply may carry: attributes or statfs figures; read bytes or a link's target; the
 * directory's entries, each its name followed by its attributes (getattr's order).
 */
export type FusePayload =
  | readonly number[]
  | Buffer
  | ReadonlyArray<ReadonlyArray<string | number>>;

export interface FuseBinding {
  /**
   * Mounts at `mountpoint` with libfuse's `-o` `options` and serves every request through
   * `dispatch`, which must answer each with `reply` exactly once. Throws when it cannot mount.
   */
  mount(mountpoint: string, options: string, dispatch: (request: FuseRequest) => void): unknown;
  /**
   * Tells a mount's loop to end when the kernel lets go of it; then detach it
   * (`fusermount3 -u -z`), which wakes the loop. Safe twice.
   */
  unmount(handle: unknown): void;
  /** Answers `request` with a result (>= 0, or -errno) and what it returns. */
  reply(request: unknown, result: number, payload?: FusePayload): void;
}

const ADDON = resolve(import.meta.dirname, "../../build/Release/sandstore_fuse.node");

/** The bridge; an Error naming what to install and run when it was never built. */
export function loadFuseBinding(): FuseBinding {
  if (!existsSync(ADDON))
    throw new Error(
      `the FUSE bridge ${ADDON} is not built: apt-get install fuse3 libfuse3-dev pkg-config, then npm run build:fuse`,
    );
  const required: unknown = createRequire(import.meta.url)(ADDON);
  if (!isBinding(required)) throw new Error(`${ADDON} is not the FUSE bridge`);
  return required;
}

function isBinding(value: unknown): value is FuseBinding {
  if (typeof value !== "object" || value === null) return false;
  return ["mount", "unmount", "reply"].every(
    (name) => typeof (value as Record<string, unknown>)[name] === "function",
  );
}
