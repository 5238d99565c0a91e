/**
 * The V8 flags a Sandstore process is started with. `bin/sandstore.js` names them in its
 * `#!` line, and whatever starts `sandstore` through `node` itself (`sandstore up`, the test
 * and benchmark clusters) passes these.
 *
 * `--initial-heap-size`: Node 20's V8 counts the bytes of every Buffer allocated since the
 * last full collection towards the old generation's limit, and that limit follows the live
 * JavaScript heap, about 10 MB here. A process that moves file data allocates megabytes per
 * message (socket reads, gRPC messages, chunks), so without this flag it ran a full
 * collection about every 15 MB moved: 160 of them to read 768 MiB, a third of a follower's
 * busy time in writes. A 256 MB starting limit leaves about one per 250 MB. Measured on a
 * 3-node cluster with nodes and client both started with it: reads went from 191 to 450
 * MiB/s and writes at R=3 from 61 to 83 MiB/s (docs/performance.md). The cost is up to that
 * much garbage held between collections; the flag cannot be set once the process runs, and
 * NODE_OPTIONS refuses it.
 */
export const NODE_RUNTIME_FLAGS: readonly string[] = ["--initial-heap-size=256"];
