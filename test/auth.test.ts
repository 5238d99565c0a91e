/**
 * Users and permissions against a real 3-node hyperconverged cluster with `--auth required`
 * (issue 14): operators add users with `sandstore user`; a client without credentials, or
 * with a wrong secret, is refused; each user sees only what the permission bits allow;
 * `ls -l` shows owners; a new secret retires the old one; secrets appear in no log; and a
 * source that keeps failing is turned away.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  connect,
  O_CREAT,
  O_RDONLY,
  O_WRONLY,
  type SandstoreClient,
  SandstoreError,
} from "../src/index.ts";
import type { ClientCredentials } from "../src/transport/file-service-api.ts";
import { Cluster } from "./helpers/hyperconverged-cluster.ts";
import { runCli } from "./helpers/node-process.ts";
import { code } from "./helpers/outcome.ts";

const cluster = new Cluster({ nodeArgs: ["--auth", "required"] });
let credentialsFile = "";
before(async () => {
  await cluster.start();
  await cluster.leader();
  credentialsFile = join(cluster.root, "credentials");
});
after(() => cluster.close());

const seeds = () => cluster.addresses.join(",");
const operator = () => ({
  SANDSTORE_CLUSTER: seeds(),
  SANDSTORE_CLUSTER_TOKEN: cluster.token,
  SANDSTORE_CREDENTIALS_FILE: credentialsFile,
});
const clients: SandstoreClient[] = [];
after(async () => {
  for (const client of clients) await client.closeClient();
});

function as(credentials: ClientCredentials | undefined): SandstoreClient {
  const client = connect(cluster.addresses, { credentials, retryForMs: 2000 });
  clients.push(client);
  return client;
}

async function addUser(name: string, uid: number, gid: number): Promise<ClientCredentials> {
  const run = await runCli(
    ["user", "add", name, "--uid", String(uid), "--gid", String(gid), "--save", "--json"],
    operator(),
  );
  assert.equal(run.code, 0, run.stderr);
  const made = JSON.parse(run.stdout.toString()) as ClientCredentials & { name: string };
  assert.equal(made.name, name);
  return { accessKeyId: made.accessKeyId, secret: made.secret };
}

async function write(client: SandstoreClient, path: string, text: string, mode = 0o644) {
  const fd = await client.open(path, O_CREAT | O_WRONLY, mode);
  await client.write(fd, Buffer.from(text));
  await client.close(fd);
}

const secrets: string[] = [];

test("users, credentials and permissions through the SDK and the CLI", async () => {
  const admin = await addUser("admin", 0, 0);
  const alice = await addUser("alice", 1000, 1000);
  const bob = await addUser("bob", 1001, 1001);
  secrets.push(admin.secret, alice.secret, bob.secret);

  // Refusals: no credentials, a wrong secret, an unknown key; the same answer for each.
  assert.equal(await code(as(undefined).stat("/")), "EACCES");
  assert.equal(await code(as({ ...alice, secret: bob.secret }).stat("/")), "EACCES");
  assert.equal(await code(as({ accessKeyId: "SKNOSUCHKEY", secret: "x" }).stat("/")), "EACCES");
  const anonymous = await runCli(["ls", "/"], { SANDSTORE_CLUSTER: seeds() });
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, /permission denied \(this cluster requires credentials\)/);
  const taken = await runCli(["user", "add", "alice2", "--uid", "1000"], operator());
  assert.equal(taken.code, 1, "a uid is one user's");
  assert.match(taken.stderr, /file exists/);

  // Root sets up a home for alice.
  const root = as(admin);
  await root.mkdir("/home/alice", { recursive: true, mode: 0o755 });
  await root.chown("/home/alice", 1000, 1000);
  await root.mkdir("/shared", { mode: 0o1777 });

  const a = as(alice);
  const b = as(bob);
  await write(a, "/home/alice/private.txt", "alice only", 0o600);
  await write(a, "/home/alice/public.txt", "anyone may read");
  await write(b, "/shared/bobs.txt", "bob's");
  assert.equal((await a.stat("/home/alice/private.txt")).uid, 1000, "a new file is its maker's");

  // Bob may read what the bits allow, and nothing else.
  assert.equal(await code(b.open("/home/alice/private.txt", O_RDONLY)), "EACCES");
  const fd = await b.open("/home/alice/public.txt", O_RDONLY);
  assert.equal((await b.read(fd, 100)).toString(), "anyone may read");
  await b.close(fd);
  assert.equal(await code(b.open("/home/alice/public.txt", O_WRONLY)), "EACCES");
  assert.equal(await code(write(b, "/home/alice/bobs.txt", "no")), "EACCES");
  assert.equal(await code(b.unlink("/home/alice/public.txt")), "EACCES");
  assert.equal(await code(b.chmod("/home/alice/public.txt", 0o666)), "EPERM");
  assert.equal(await code(a.chown("/home/alice/public.txt", 1001, 1001)), "EPERM");
  assert.equal(await code(a.unlink("/shared/bobs.txt")), "EACCES", "the sticky bit");
  assert.equal(await code(root.unlink("/shared/bobs.txt")), "ok");
  assert.equal(await code(a.mkdir("/toplevel")), "EACCES", "/ belongs to root, 0755");

  // The SDK and the CLI as alice, with her saved profile: ls -l shows owners.
  const viaProfile = connect(cluster.addresses, { profile: "alice", credentialsFile });
  clients.push(viaProfile);
  assert.equal((await viaProfile.stat("/home/alice/private.txt")).uid, 1000);
  const ls = await runCli(["ls", "-l", "/home/alice", "--user", "alice"], operator());
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout.toString(), /-rw-------\s+1\s+1000\s+1000\s+10 .* private\.txt/);
  const listed = await runCli(["user", "list"], operator());
  assert.match(listed.stdout.toString(), /alice {2}1000 {2}1000/);
  for (const secret of secrets) assert.doesNotMatch(listed.stdout.toString(), new RegExp(secret));

  // A new secret retires the old one.
  const passwd = await runCli(["user", "passwd", "alice", "--json"], operator());
  assert.equal(passwd.code, 0, passwd.stderr);
  const renewed = JSON.parse(passwd.stdout.toString()) as ClientCredentials;
  secrets.push(renewed.secret);
  assert.equal(await code(as(alice).stat("/home/alice")), "EACCES", "the old secret");
  assert.equal(await code(as(renewed).stat("/home/alice")), "ok", "the new secret");
  assert.equal((await runCli(["user", "remove", "bob"], operator())).code, 0);
  assert.equal(await code(as(bob).stat("/")), "EACCES", "a removed user");

  // User management is the operator's: no token, no users.
  const stranger = await runCli(["user", "list"], {
    SANDSTORE_CLUSTER: seeds(),
    SANDSTORE_CLUSTER_TOKEN: "f".repeat(32),
  });
  assert.equal(stranger.code, 1);
  assert.match(stranger.stderr, /wrong cluster token/);
});

test("no secret is written to any node's log", async () => {
  assert.ok(secrets.length > 0, "the first test made secrets");
  for (const i of cluster.indexes) {
    const dir = join(cluster.root, `n${i + 1}`);
    for (const name of await readdir(dir)) {
      if (!name.endsWith(".log")) continue;
      const log = await readFile(join(dir, name), "utf8");
      for (const secret of secrets) assert.ok(!log.includes(secret), `a secret in ${name}`);
    }
  }
});

test("a source that keeps failing is turned away, even with good credentials, for a while", async () => {
  const wrong = as({ accessKeyId: "SKNOSUCHKEY", secret: "guess" });
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) {
    try {
      await wrong.stat("/");
    } catch (error) {
      if (error instanceof SandstoreError) seen.add(error.detail);
    }
  }
  assert.ok(
    [...seen].some((detail) => /too many failed attempts/.test(detail)),
    `refusals seen: ${[...seen].join("; ")}`,
  );
});
