/**
 * `sandstore mount` (issue 18, first step): real programs on a FUSE mount of a single node,
 * each on a fresh mount: tar x then diff -r, cp -a and rsync -a, git, sqlite3, a large file
 * by dd (1 GiB) and cmp after a remount, fio random read/write with verification; two mounts, where a file written
 * and closed on one is read on the other; Ctrl-C and a lazy umount with a file open; and the
 * data still there after unmount and remount.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { isMounted, type MountProcess, startMount } from "./helpers/mount-process.ts";
import { CLI, type NodeProcess, runCli, startNode, waitFor } from "./helpers/node-process.ts";

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** Runs `command` in `cwd`; its stdout. Fails with what it printed. */
async function sh(cwd: string, command: string): Promise<string> {
  const { stdout } = await run("bash", ["-c", command], { cwd, maxBuffer: 64 * MiB });
  return stdout;
}

describe("sandstore mount, on a single node", () => {
  let node: NodeProcess;
  let scratch: string;

  before(async () => {
    // Small chunks: a few files make several, and random writes rewrite little.
    node = await startNode({ args: ["--chunk-size", String(64 * 1024)] });
    scratch = await mkdtemp(join(tmpdir(), "sandstore-mount-src-"));
  });
  after(async () => {
    await node.stop();
    await rm(scratch, { recursive: true, force: true });
    await rm(node.dataDir, { recursive: true, force: true });
  });

  /** A fresh mount for `body`, unmounted after it whatever happens. */
  async function onMount(body: (mount: MountProcess) => Promise<void>): Promise<void> {
    const mount = await startMount(node.address);
    try {
      await body(mount);
    } finally {
      await mount.unmount();
    }
  }

  test("tar x of a nested tree, then diff -r against the source", async () => {
    const tarball = join(scratch, "src.tar");
    await sh(resolve("."), `tar -cf ${tarball} src/raft src/metadata`);
    await onMount(async ({ dir }) => {
      await sh(dir, `mkdir x && tar -C x -xf ${tarball}`);
      await sh(
        dir,
        `diff -r ${resolve("src/raft")} x/src/raft && diff -r ${resolve("src/metadata")} x/src/metadata`,
      );
    });
  });

  test("cp -a and rsync -a keep contents, modes and times", async () => {
    await onMount(async ({ dir }) => {
      await sh(dir, `cp -a ${resolve("docs")} copied && diff -r ${resolve("docs")} copied`);
      await sh(dir, `rsync -a ${resolve("web")}/ synced/ && diff -r ${resolve("web")} synced`);
      // rsync again finds nothing to send: sizes and times came through.
      const again = await sh(dir, `rsync -a --itemize-changes ${resolve("web")}/ synced/`);
      assert.equal(again.trim(), "", again);
      const source = await sh(".", `stat -c '%a %Y' ${resolve("docs/http.md")}`);
      assert.equal(await sh(dir, "stat -c '%a %Y' copied/http.md"), source);
    });
  });

  test("git init, add, commit; then git log and git fsck", async () => {
    await onMount(async ({ dir }) => {
      const git = "git -c user.email=t@example.com -c user.name=test";
      await sh(
        dir,
        `mkdir repo && cd repo && git init -q && cp -r ${resolve("src/demo")} . && ${git} add . && ${git} commit -qm first`,
      );
      await sh(join(dir, "repo"), `echo more >> demo/demo.ts && ${git} commit -qam second`);
      const log = await sh(join(dir, "repo"), "git log --format=%s");
      assert.equal(log, "second\nfirst\n");
      await sh(join(dir, "repo"), "git fsck --full --strict");
    });
  });

  test("sqlite3 creates, fills and queries a database; integrity_check is ok", async () => {
    await onMount(async ({ dir }) => {
      const sql = [
        "PRAGMA journal_mode=DELETE;",
        "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<20000) INSERT INTO t(b) SELECT hex(randomblob(40)) FROM c;",
        "SELECT count(*) FROM t;",
        "PRAGMA integrity_check;",
      ].join(" ");
      const out = await sh(dir, `sqlite3 db.sqlite "${sql}"`);
      assert.equal(out, "delete\n20000\nok\n");
    });
  });

  test("symbolic and hard links: ln -s, readlink, ln, tar and cp -a of a tree holding both", async () => {
    const tree = join(scratch, "links");
    await sh(
      scratch,
      "mkdir -p links/d && echo hello > links/d/f && ln -s d/f links/rel && ln -s /nowhere links/dangling && ln links/d/f links/hard",
    );
    await onMount(async ({ dir }) => {
      await sh(dir, "echo data > f && ln -s f s && ln f h && mkdir d && ln -s ../f d/up");
      assert.equal(await sh(dir, "readlink s && cat s d/up"), "f\ndata\ndata\n");
      assert.equal(await sh(dir, "stat -c '%h %i' f h | uniq | wc -l"), "1\n", "one inode");
      assert.equal(await sh(dir, "stat -c %h f"), "2\n");
      assert.equal(await sh(dir, "stat -c '%F %s' s"), "symbolic link 1\n");
      await sh(dir, "echo more >> h && rm f");
      assert.equal(await sh(dir, "cat h && stat -c %h h"), "data\nmore\n1\n");
      assert.equal(await sh(dir, "test -L s && ! test -e s && echo dangling"), "dangling\n");
      await sh(
        dir,
        `tar -C ${scratch} -cf - links | tar -xf - && diff -r --no-dereference ${tree} links`,
      );
      await sh(dir, `cp -a ${tree} links-copy && diff -r --no-dereference ${tree} links-copy`);
      assert.equal(await sh(dir, "readlink links/dangling links-copy/rel"), "/nowhere\nd/f\n");
      assert.equal(
        await sh(dir, "stat -c %i links/d/f links/hard | uniq | wc -l"),
        "1\n",
        "tar kept the hard link",
      );
      const refused = await sh(dir, "ln d d2 2>&1 || true");
      assert.match(refused, /not allowed|not permitted/, refused);
    });
  });

  test("special files: a FIFO carries bytes between two programs; sockets and devices are made", async () => {
    await onMount(async ({ dir: root }) => {
      // A directory of its own: the suite's other tests leave files in the node's root.
      const dir = join(root, "special");
      await sh(root, "mkdir special");
      await sh(dir, "mkfifo pipe && test -p pipe");
      // The pipe itself is the kernel's: a writer and a reader meet in it.
      assert.equal(await sh(dir, "(echo through > pipe &) ; cat pipe"), "through\n");
      await sh(dir, `python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('sock')"`);
      assert.equal(await sh(dir, "stat -c %F sock"), "socket\n");
      await sh(dir, "mknod null c 1 3 && mknod disk b 8 1");
      assert.equal(
        await sh(dir, "stat -c '%F %t:%T' null disk"),
        "character special file 1:3\nblock special file 8:1\n",
      );
      assert.equal(
        await sh(dir, "ls -l | tail -n +2 | cut -c1 | sort -u | tr -d '\\n'"),
        "bcps",
        "each type listed as such",
      );
      await sh(root, "rm -r special");
    });
  });

  test("--allow-other: another user's entries are theirs, and the kernel checks their modes", async () => {
    const mount = await startMount(node.address, ["--allow-other"]);
    try {
      const as = (user: string, command: string) =>
        sh(
          mount.dir,
          `setpriv --reuid=${user} --regid=${user} --clear-groups bash -c '${command}'`,
        );
      await sh(mount.dir, "mkdir shared && chmod 1777 shared");
      await as(
        "65534",
        "mkdir shared/n && echo mine > shared/n/f && ln -s f shared/n/l && mkfifo shared/n/p",
      );
      assert.equal(
        await sh(mount.dir, "stat -c '%u:%g' shared/n shared/n/f shared/n/l shared/n/p | sort -u"),
        "65534:65534\n",
      );
      assert.equal(await as("65534", "cat shared/n/f"), "mine\n", "its own files reopen");
      const refused = await as("65533", "(echo theirs > shared/n/f) 2>&1 || true");
      assert.match(refused, /Permission denied/, refused);
      const sticky = await as("65533", "rm -f shared/n/f 2>&1; rmdir shared/n 2>&1 || true");
      assert.match(sticky, /Permission denied|Operation not permitted/, sticky);
      await sh(mount.dir, "rm -r shared");
    } finally {
      await mount.unmount();
    }
  });

  test("a 1 GiB file by dd, then unmount and remount, reads back identical (cmp)", async () => {
    const source = join(scratch, "big");
    await sh(scratch, `head -c ${1024 * MiB} /dev/urandom > big`);
    // A node of its own, with the default 8 MiB chunks: the suite's 64 KiB would make the
    // gigabyte 16,384 chunks, each its own commit.
    const large = await startNode();
    try {
      const write = await startMount(large.address);
      try {
        await sh(write.dir, `dd if=${source} of=big bs=1M status=none conv=fsync`);
      } finally {
        await write.unmount();
      }
      // A fresh mount has nothing cached: cmp reads every byte back from the cluster.
      const read = await startMount(large.address);
      try {
        await sh(read.dir, `cmp ${source} big`);
      } finally {
        await read.unmount();
      }
    } finally {
      await large.stop();
      await rm(large.dataDir, { recursive: true, force: true });
      await rm(source);
    }
  });

  test("fio random read/write with verify=crc32c finds no bad block", async () => {
    await onMount(async ({ dir }) => {
      const out = await sh(
        dir,
        "fio --name=verify --filename=fio.data --size=2M --bs=4k --rw=randwrite --verify=crc32c --do_verify=1 --ioengine=psync --output-format=terse --terse-version=3",
      );
      // Terse v3: field 5 is the error count of the job.
      assert.equal(out.split(";")[4], "0", out);
    });
  });

  test("two mounts: a file written and closed on one is read on the other", async () => {
    const one = await startMount(node.address);
    const two = await startMount(node.address);
    try {
      const data = randomBytes(300 * 1024);
      await writeFile(join(one.dir, "shared.bin"), data);
      assert.ok((await readFile(join(two.dir, "shared.bin"))).equals(data));
      const more = randomBytes(5000);
      await writeFile(join(one.dir, "shared.bin"), more);
      assert.ok((await readFile(join(two.dir, "shared.bin"))).equals(more), "close-to-open");
    } finally {
      await one.unmount();
      await two.unmount();
    }
  });

  test("sandstore umount --lazy detaches with a file open; data stays across a remount", async () => {
    const data = randomBytes(100 * 1024);
    const first = await startMount(node.address);
    await writeFile(join(first.dir, "kept.bin"), data);
    // A reader holding the file open: a plain umount refuses, a lazy one detaches.
    const holder = spawn("bash", ["-c", `exec 3<${join(first.dir, "kept.bin")}; read -r _`], {
      stdio: ["pipe", "ignore", "ignore"],
    });
    await waitFor(
      async () => (await sh(".", `ls -l /proc/${holder.pid}/fd`)).includes("kept.bin"),
      "the file held open",
    );
    const plain = await runCli(["umount", first.dir]);
    assert.notEqual(plain.code, 0, "a busy mount is not unmounted without --lazy");
    const lazy = await runCli(["umount", "--lazy", first.dir]);
    assert.equal(lazy.code, 0, lazy.stderr);
    assert.equal(await isMounted(first.dir), false);
    holder.stdin.end();
    await new Promise((done) => holder.once("exit", done));
    await first.unmount();

    const second = await startMount(node.address);
    try {
      assert.ok(
        (await readFile(join(second.dir, "kept.bin"))).equals(data),
        "there after a remount",
      );
    } finally {
      await second.unmount();
    }
  });

  test("mount names what is wrong: not a directory, no cluster", async () => {
    const notDir = await runCli(["mount", CLI, "--cluster", node.address]);
    assert.equal(notDir.code, 2);
    assert.match(notDir.stderr, /is not a directory/);
  });
});
