/**
 * What every command shares: the cluster option, exit codes and error lines (SPEC §2).
 *
 * Exit codes: 0 success, 1 a failed operation (one line on stderr), 2 a usage error.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { connect } from "../client/connect.ts";
import {
  CredentialsFileError,
  defaultCredentialsFile,
  readCredentials,
} from "../client/credentials-file.ts";
import type { SandstoreClient } from "../client/sandstore-client.ts";
import { isErrno, NotLeaderError, SandstoreError } from "../common/errors.ts";
import { operatorPeerAuth } from "../topologies/peer-credentials.ts";
import { leaderAmong } from "../transport/admin-membership.ts";
import type { ClientCredentials } from "../transport/file-service-api.ts";
import { AdminClient } from "../transport/grpc-admin-service.ts";
import type { PeerAuth } from "../transport/peer-auth.ts";

/** A usage error found after parsing (a bad combination of flags): exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** What `withCluster` adds to a command's options. */
export interface ClusterFlags {
  cluster: string;
  /** The cluster's CA certificate, when its ports speak TLS. */
  tlsCa?: string;
  /** The profile in the credentials file to call as (clusters with `--auth required`). */
  user?: string;
  credentialsFile?: string;
}

/** The credentials `--user` names, if it does; a usage error when the profile is missing. */
export function clientCredentials(flags: ClusterFlags): ClientCredentials | undefined {
  if (!flags.user) return undefined;
  try {
    return readCredentials(flags.credentialsFile ?? defaultCredentialsFile(), flags.user);
  } catch (error) {
    if (error instanceof CredentialsFileError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Adds `--cluster` (env SANDSTORE_CLUSTER, default 127.0.0.1:7001) and `--tls-ca` (env
 * SANDSTORE_TLS_CA) to a command.
 */
export function withCluster(command: Command): Command {
  return command
    .addOption(
      new Option("--cluster <addresses>", "cluster seeds, host:port[,host:port...]")
        .env("SANDSTORE_CLUSTER")
        .default("127.0.0.1:7001"),
    )
    .addOption(
      new Option("--tls-ca <file>", "the cluster's CA certificate, when it speaks TLS").env(
        "SANDSTORE_TLS_CA",
      ),
    )
    .addOption(
      new Option("--user <profile>", "call as this user: a profile of the credentials file").env(
        "SANDSTORE_USER",
      ),
    )
    .addOption(
      new Option(
        "--credentials-file <file>",
        "where --user's profile is (default ~/.sandstore/credentials)",
      ).env("SANDSTORE_CREDENTIALS_FILE"),
    );
}

/** What `withCredentials` adds to a command's options. */
export interface CredentialFlags {
  clusterToken?: string;
  tlsDir?: string;
}

/**
 * Adds the trust boundary's flags: `--cluster-token` (env SANDSTORE_CLUSTER_TOKEN) and
 * `--tls-dir` (env SANDSTORE_TLS_DIR). `who` says whose credentials they are.
 */
export function withCredentials(command: Command, who: string): Command {
  return command
    .addOption(
      new Option("--cluster-token <secret>", `secret shared by the cluster (${who})`).env(
        "SANDSTORE_CLUSTER_TOKEN",
      ),
    )
    .addOption(
      new Option(
        "--tls-dir <dir>",
        `mutual TLS instead of the token: ca.crt, node.crt and node.key (${who})`,
      ).env("SANDSTORE_TLS_DIR"),
    );
}

/** Runs `fn` with a client of `--cluster`, closing the client afterwards. */
export async function withClient<T>(
  options: ClusterFlags,
  fn: (client: SandstoreClient) => Promise<T>,
): Promise<T> {
  const client = connect(options.cluster, {
    retryForMs: 5_000,
    tlsCa: options.tlsCa,
    credentials: clientCredentials(options),
  });
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

/**
 * A local cluster's token: read from `path`, or made and written there (owner-only), so a
 * restarted cluster and the operator's commands find it.
 */
export async function localClusterToken(path: string): Promise<string> {
  try {
    const token = (await readFile(path, "utf8")).trim();
    if (/^[0-9a-f]{32}$/.test(token)) return token;
    throw new UsageError(`${path} does not hold a cluster token: remove it to make a new one`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const token = randomBytes(16).toString("hex");
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  return token;
}

/**
 * Admin clients, with the operator's credentials, of the `host:port` list `text` given as
 * `flag`; a usage error for a malformed list or missing credentials. Close them when done.
 */
export function operatorClients(
  text: string,
  flag: string,
  credentials: CredentialFlags,
): AdminClient[] {
  const addresses = text
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  for (const address of addresses)
    if (!/^[^:\s]+:\d{1,5}$/.test(address))
      throw new UsageError(`${flag}: "${address}" is not host:port`);
  if (addresses.length === 0) throw new UsageError(`${flag} names no address`);
  const auth = operatorAuth(credentials);
  return addresses.map((address) => new AdminClient(address, auth));
}

/** The operator's `PeerAuth` from its flags; a usage error when they name none. */
export function operatorAuth(credentials: CredentialFlags): PeerAuth {
  try {
    return operatorPeerAuth(credentials);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

/** Flags of a command that asks the metadata leader's AdminService, as an operator. */
export interface OperatorClusterFlags extends CredentialFlags {
  cluster: string;
}

/** How long `onLeader` looks for a leader before giving up. */
const LEADER_WAIT_MS = 10_000;

/** Adds `--cluster` and an operator's credentials to `command`. */
export function withOperatorCluster(command: Command): Command {
  return withCredentials(
    command.addOption(
      new Option("--cluster <addresses>", "the metadata nodes, host:port[,host:port...]")
        .env("SANDSTORE_CLUSTER")
        .default("127.0.0.1:7001"),
    ),
    "an operator's: the token, or a TLS directory such as DIR/tls/operator",
  );
}

/**
 * Runs `fn` against the leader among `--cluster`'s nodes, looking for one for up to 10 s.
 * Throws the credentials' refusal (EACCES) at once, and an Error naming the nodes when none
 * leads.
 */
export async function onLeader<T>(
  flags: OperatorClusterFlags,
  fn: (leader: AdminClient) => Promise<T>,
): Promise<T> {
  const clients = operatorClients(flags.cluster, "--cluster", flags);
  try {
    const find = leaderAmong(clients);
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      const leader = await find();
      if (leader) return await fn(leader.client);
      // One node's own refusal is the answer: the credentials are wrong.
      const probe = await clients[0]?.nodeState().catch((error: unknown) => error);
      if (probe instanceof SandstoreError && probe.code === "EACCES") throw probe;
      if (Date.now() > deadline) throw new Error(`no node of ${flags.cluster} says it leads`);
      await new Promise((done) => setTimeout(done, 200));
    }
  } finally {
    for (const client of clients) client.close();
  }
}
