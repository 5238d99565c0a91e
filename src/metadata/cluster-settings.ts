/**
 * Cluster settings: the values every node must agree on to read one file the same way (the
 * chunk size slices files into slots; R and W decide placement and commit). They are decided
 * once, at bootstrap, by the first `ConfigureClusterCommand` the metadata log commits, and
 * every node reads them from its applied state, never from its own flags.
 */

/** Chunk size of a new cluster unless set at bootstrap (SPEC §3). */
export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;
/** Smallest chunk size: one page; smaller would make the chunk map outweigh the data. */
export const MIN_CHUNK_SIZE = 4096;
/** Largest chunk size a cluster may be created with: a chunk is held in memory whole. */
export const MAX_CHUNK_SIZE = 64 * 1024 * 1024;
/** Copies of a chunk unless set at bootstrap. */
export const DEFAULT_REPLICATION_FACTOR = 3;
/**
 * Most copies of a chunk: a write fans out to every copy and the chunk map lists each, so R
 * bounds a write's messages and a slot's size.
 */
export const MAX_REPLICATION_FACTOR = 16;

/** The decided settings of a cluster. */
export interface ClusterSettings {
  /** Bytes per chunk slot. */
  readonly chunkSize: number;
  /** Copies of each chunk (R); fewer while fewer data nodes are live. */
  readonly replicationFactor: number;
  /** Durable copies before a write commits (W), 1..R. */
  readonly writeQuorum: number;
}

/** What a node's flags ask for; absent fields take the defaults at bootstrap. */
export interface RequestedSettings {
  readonly chunkSize?: number | undefined;
  readonly replicationFactor?: number | undefined;
  readonly writeQuorum?: number | undefined;
}

/** W when none is asked for: a majority of R. */
export function defaultWriteQuorum(replicationFactor: number): number {
  return Math.floor(replicationFactor / 2) + 1;
}

/** The settings a bootstrap proposes for `requested`: defaults filled in. */
export function settingsFor(requested: RequestedSettings): ClusterSettings {
  const replicationFactor = requested.replicationFactor ?? DEFAULT_REPLICATION_FACTOR;
  return {
    chunkSize: requested.chunkSize ?? DEFAULT_CHUNK_SIZE,
    replicationFactor,
    writeQuorum: requested.writeQuorum ?? defaultWriteQuorum(replicationFactor),
  };
}

/**
 * What is wrong with `settings`, in words naming the field and its limits; undefined when
 * they are valid. Fields left out of a request are not checked.
 */
export function settingsProblem(settings: RequestedSettings): string | undefined {
  const { chunkSize, replicationFactor, writeQuorum } = settings;
  if (
    chunkSize !== undefined &&
    (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE)
  )
    return `chunk size ${chunkSize} is not an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`;
  if (
    replicationFactor !== undefined &&
    (!Number.isInteger(replicationFactor) ||
      replicationFactor < 1 ||
      replicationFactor > MAX_REPLICATION_FACTOR)
  )
    return `replication factor ${replicationFactor} is not an integer from 1 to ${MAX_REPLICATION_FACTOR}`;
  const r = replicationFactor ?? DEFAULT_REPLICATION_FACTOR;
  if (
    writeQuorum !== undefined &&
    (!Number.isInteger(writeQuorum) || writeQuorum < 1 || writeQuorum > r)
  )
    return `write quorum ${writeQuorum} is not an integer from 1 to the replication factor ${r}`;
  return undefined;
}

/**
 * Where the flags a node was started with disagree with what the cluster decided, one
 * phrase per setting naming both values; empty when they agree. A flag left out agrees with
 * anything.
 */
export function settingsConflicts(
  requested: RequestedSettings,
  decided: ClusterSettings,
): string[] {
  const conflicts: string[] = [];
  const check = (flag: string, asked: number | undefined, value: number) => {
    if (asked !== undefined && asked !== value)
      conflicts.push(`${flag} ${asked} was given, but the cluster was created with ${value}`);
  };
  check("--chunk-size", requested.chunkSize, decided.chunkSize);
  check("--replication", requested.replicationFactor, decided.replicationFactor);
  check("--write-quorum", requested.writeQuorum, decided.writeQuorum);
  return conflicts;
}

/** A node's flags disagree with the cluster's decided settings: it refuses to run. */
export class SettingsConflictError extends Error {
  override readonly name = "SettingsConflictError";

  constructor(readonly conflicts: readonly string[]) {
    super(`this node's flags disagree with the cluster: ${conflicts.join("; ")}`);
  }
}
