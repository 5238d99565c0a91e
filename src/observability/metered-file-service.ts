/**
 * A `FileServiceApi` that times every call of the one it wraps and reports it by operation
 * and result, for metrics. It changes nothing: each call and each error passes through as is.
 */
import { SandstoreError } from "../common/errors.ts";
import type { FileServiceApi } from "../transport/file-service-api.ts";
import type { OperationResult } from "./node-metrics.ts";

/** Where a timed call is reported (a node's `NodeMetrics`). */
export interface OperationObserver {
  /** The operation's name, its result, its wall time in seconds. */
  observeFileOperation(operation: string, result: OperationResult, seconds: number): void;
}

/** `ok`, the POSIX code of a file-system error, or the name of any other error's class. */
function resultOf(error: unknown): OperationResult {
  if (error instanceof SandstoreError) return error.code;
  return error instanceof Error ? error.name : "error";
}

/** Wraps `api` so that `observer` hears of every call but `status` (probes, not operations). */
export function meteredFileService(
  api: FileServiceApi,
  observer: OperationObserver,
): FileServiceApi {
  const observe = (operation: string, result: OperationResult, seconds: number) =>
    observer.observeFileOperation(operation, result, seconds);
  async function timed<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const value = await call();
      observe(operation, "ok", (performance.now() - started) / 1000);
      return value;
    } catch (error) {
      observe(operation, resultOf(error), (performance.now() - started) / 1000);
      throw error;
    }
  }
  return {
    stat: (request, call) => timed("stat", () => api.stat(request, call)),
    create: (request, call) => timed("create", () => api.create(request, call)),
    mkdir: (request, call) => timed("mkdir", () => api.mkdir(request, call)),
    rmdir: (request, call) => timed("rmdir", () => api.rmdir(request, call)),
    unlink: (request, call) => timed("unlink", () => api.unlink(request, call)),
    rename: (request, call) => timed("rename", () => api.rename(request, call)),
    link: (request, call) => timed("link", () => api.link(request, call)),
    symlink: (request, call) => timed("symlink", () => api.symlink(request, call)),
    mknod: (request, call) => timed("mknod", () => api.mknod(request, call)),
    setAttr: (request, call) => timed("setattr", () => api.setAttr(request, call)),
    readDir: (request, call) => timed("readdir", () => api.readDir(request, call)),
    placement: (request, call) => timed("placement", () => api.placement(request, call)),
    writeChunk: (header, data, call) => timed("write", () => api.writeChunk(header, data, call)),
    read(request, call) {
      // A read is timed from the call to its last piece; one refused before streaming (a bad
      // request) throws here, as the wrapped one does, and is counted too.
      const started = performance.now();
      let pieces: AsyncIterable<Buffer>;
      try {
        pieces = api.read(request, call);
      } catch (error) {
        observe("read", resultOf(error), (performance.now() - started) / 1000);
        throw error;
      }
      return (async function* () {
        try {
          yield* pieces;
          observe("read", "ok", (performance.now() - started) / 1000);
        } catch (error) {
          observe("read", resultOf(error), (performance.now() - started) / 1000);
          throw error;
        }
      })();
    },
    status: (request) => api.status(request),
  };
}
