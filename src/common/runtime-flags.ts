/**
 * The V8 flags a Sandstore server process is started with: whatever starts one through
 * `node` (`sandstore up`, `sandstore kv up`, the test and benchmark clusters, the benchmark
 * scripts) passes these, and a node started without them says so in its log.
 *
 * `--initial-heap-size`: Node 20's V8 counts the bytes of every Buffer allocated since the
 * last full collection towards the old generation's limit, and that limit follows the live
 * JavaScript heap, about 10 MB here. A process that moves file data allocates megabytes per
 * message (socket reads, gRPC messages, chunks), so without this flag it ran a full
 * collection about every 15 MB moved: 160 of them to read 768 MiB, 6 with a 256 MB starting
 * limit. On a 3-node cluster with nodes and client started with it, reads went from 191 to
 * about 420 MiB/s and writes at R=3 from 61 to about 80 MiB/s with 128 MB (docs/performance.md). The cost
 * is garbage held between collections. 96 MB keeps a node within SPEC's 256 MiB during a
 * 1 GiB put with room to spare: its peak was 235 to 243 MiB in three runs of
 * test/large-put.test.ts, where 128 MB came to 245 to 262 MiB (over the limit once in CI) and
 * 64 MB to 221 to 233, with no loss in `npm run bench:cluster` at 96 (2026-12-02). The
 * `sandstore` command's own client side (put, get, ...) runs without it, for the same
 * reason. The flag cannot be set once the process runs, and NODE_OPTIONS refuses it.
 */
export const NODE_RUNTIME_FLAGS: readonly string[] = ["--initial-heap-size=96"];

/** The runtime flags `execArgv` (the process's own, by default) lacks. */
export function missingRuntimeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return NODE_RUNTIME_FLAGS.filter((flag) => !execArgv.includes(flag));
}
