/**
 * What every command shares: the cluster option, exit codes and error lines (SPEC §2).
 *
 * Exit codes: 0 success, 1 a failed operation (one line on stderr), 2 a usage error.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { connect } from "../client/connect.ts";
import type { SandstoreClient } from "../client/sandstore-client.ts";
import { isErrno, NotLeaderError, SandstoreError } from "../common/errors.ts";

/** A usage error found after parsing (a bad combination of flags): exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Adds `--cluster` (env SANDSTORE_CLUSTER, default 127.0.0.1:7001) to a command. */
export function withCluster(command: Command): Command {
  return command.addOption(
    new Option("--cluster <addresses>", "cluster seeds, host:port[,host:port...]")
      .env("SANDSTORE_CLUSTER")
      .default("127.0.0.1:7001"),
  );
}

/** Runs `fn` with a client of `--cluster`, closing the client afterwards. */
export async function withClient<T>(
  options: { cluster: string },
  fn: (client: SandstoreClient) => Promise<T>,
): Promise<T> {
  const client = connect(options.cluster, { retryForMs: 5_000 });
  try {
    return await fn(client);
  } finally {
    await client.closeClient();
  }
}

/** The one line printed for a failed operation `op` (`stat /a: no such file or directory`). */
export function describeFailure(op: string, error: unknown): string {
  if (error instanceof SandstoreError)
    return error.path ? `${op} ${error.message}` : `${op}: ${error.message}`;
  if (error instanceof NotLeaderError) return `${op}: ${error.message}`;
  // A local file's error (put of a missing file): name it the way the cluster's errors read.
  const local = error as NodeJS.ErrnoException;
  if (typeof local?.code === "string" && isErrno(local.code) && local.path) {
    return `${op} ${new SandstoreError(local.code, local.path).message}`;
  }
  return `${op}: ${error instanceof Error ? error.message : String(error)}`;
}

/** Parses a positive integer flag value, or fails with a usage error naming the flag. */
export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/** Parses a non-negative integer flag value. */
export function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InvalidArgumentError("expected a non-negative integer");
  return n;
}

/** Parses `host:port`, or fails with a usage error. */
export function hostPort(value: string): string {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) > 65535)
    throw new InvalidArgumentError(`expected host:port, got "${value}"`);
  return value;
}
