/**
 * The single topology against a real node process on 127.0.0.1 (issue 2's acceptance tests).
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  connect,
  O_APPEND,
  O_CREAT,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  type SandstoreClient,
  type SandstoreError,
  SEEK_END,
} from "../src/index.ts";
import { clientChannelSecurity } from "../src/topologies/peer-credentials.ts";
import { GrpcTransport } from "../src/transport/grpc-transport.ts";
import { Cluster } from "./helpers/hyperconverged-cluster.ts";
import {
  type NodeProcess,
  removeDataDir,
  runCli,
  startNode,
  waitFor,
} from "./helpers/node-process.ts";
import { code } from "./helpers/outcome.ts";

const MiB = 1024 * 1024;

async function readAll(client: SandstoreClient, path: string): Promise<Buffer> {
  const fd = await client.open(path, O_RDONLY);
  const { size } = await client.stat(path);
  const bytes = await client.pread(fd, size + 1, 0);
  await client.close(fd);
  return bytes;
}

/** Chunk files on a node's disk. */
async function chunkFiles(dataDir: string): Promise<string[]> {
  const root = join(dataDir, "chunks");
  const out: string[] = [];
  for (const prefix of await readdir(root)) {
    if (prefix === "tmp") continue;
    for (const name of await readdir(join(root, prefix))) out.push(join(root, prefix, name));
  }
  return out;
}

/**
 * The file API's tests run against one single node, a 3-node hyperconverged cluster and a
 * disaggregated one (a metadata server and 3 data servers), each also over mutual TLS.
 */
interface Target {
  address: string;
  seeds: string[];
  /**
   * Whether the node's file service moves bytes itself; a disaggregated metadata server's
   * refuses reads and writes (ENOTSUP), and the SDK goes to the data servers.
   */
  bytesThroughFileService: boolean;
  /** The CA certificate clients need, when the target speaks TLS. */
  tlsCa?: string;
  stop: () => Promise<void>;
}

/** A 3-node hyperconverged cluster, with TLS or the cluster token. */
async function hyperconverged(tls: boolean): Promise<Target> {
  const cluster = new Cluster({ tls });
  await cluster.start();
  const leader = await cluster.leader();
  return {
    address: cluster.addresses[leader]!,
    seeds: cluster.addresses,
    bytesThroughFileService: true,
    tlsCa: cluster.tlsCa,
    stop: () => cluster.close(),
  };
}

/** A disaggregated cluster: metadata server n1, data servers n2 to n4. */
async function disaggregated(tls: boolean): Promise<Target> {
  const cluster = new Cluster({ tls, size: 4, metadataServers: 1 });
  await cluster.start();
  await cluster.leader();
  return {
    address: cluster.addresses[0]!,
    seeds: cluster.addresses,
    bytesThroughFileService: false,
    tlsCa: cluster.tlsCa,
    stop: () => cluster.close(),
  };
}

const targets: Array<{ name: string; start: () => Promise<Target> }> = [
  {
    name: "single node",
    start: async () => {
      const node = await startNode();
      return {
        address: node.address,
        seeds: [node.address],
        bytesThroughFileService: true,
        stop: async () => {
          await node.stop();
          await removeDataDir(node);
        },
      };
    },
  },
  { name: "hyperconverged cluster", start: () => hyperconverged(false) },
  { name: "hyperconverged cluster over mutual TLS", start: () => hyperconverged(true) },
  { name: "disaggregated cluster", start: () => disaggregated(false) },
  { name: "disaggregated cluster over mutual TLS", start: () => disaggregated(true) },
];

for (const target of targets)
  describe(`${target.name}: the file API`, () => {
    let node: Target;
    let client: SandstoreClient;
    before(async () => {
      node = await target.start();
      client = connect(node.seeds, { tlsCa: node.tlsCa });
    });
    after(async () => {
      await client.closeClient();
      await node.stop();
    });

    test("open/read/write/fsync/close/remove smoke, with descriptor visibility rules", async () => {
      const fd = await client.open("/smoke.txt", O_CREAT | O_RDWR);
      assert.equal((await client.read(fd, 100)).length, 0, "a new file reads empty");
      await client.write(fd, Buffer.from("AAAA"));
      await client.fsync(fd);
      await client.write(fd, Buffer.from("BBBB"));
      const other = await client.open("/smoke.txt", O_RDONLY);
      assert.equal(
        (await client.pread(other, 100, 0)).toString(),
        "AAAA",
        "another descriptor does not see unflushed data",
      );
      assert.equal(
        (await client.pread(fd, 100, 0)).toString(),
        "AAAABBBB",
        "the writing descriptor sees its own writes",
      );
      await client.close(fd);
      assert.equal(
        (await client.pread(other, 100, 0)).toString(),
        "AAAABBBB",
        "after close everyone sees the data",
      );
      await client.close(other);
      assert.equal(await code(client.read(fd, 1)), "EBADF");
      assert.equal(await code(client.write(fd, Buffer.from("x"))), "EBADF");
      assert.equal(await code(client.close(fd)), "EBADF");
      await client.unlink("/smoke.txt");
      assert.equal(await code(client.stat("/smoke.txt")), "ENOENT");
      assert.equal(await code(client.open("/smoke.txt")), "ENOENT");
    });

    test("extended attributes are set together, listed with the entry, and go with a rename", async () => {
      await client.mkdir("/xattr");
      const fd = await client.open("/xattr/staged", O_CREAT | O_WRONLY);
      await client.write(fd, Buffer.from("object bytes"));
      await client.close(fd);
      await client.setxattrs("/xattr/staged", {
        "user.s3.etag": "0123abcd",
        "user.s3.content-type": "text/plain",
      });
      await client.rename("/xattr/staged", "/xattr/visible");
      const [entry] = await client.readdir("/xattr");
      assert.deepEqual(
        Object.entries(entry?.stats.xattrs ?? {}).map(([name, value]) => [name, String(value)]),
        [
          ["user.s3.etag", "0123abcd"],
          ["user.s3.content-type", "text/plain"],
        ],
      );
      await client.setxattrs("/xattr/visible", { "user.s3.content-type": null });
      assert.deepEqual(Object.keys((await client.stat("/xattr/visible")).xattrs), ["user.s3.etag"]);
      assert.equal(await code(client.setxattrs("/xattr/visible", { plain: "x" })), "ENOTSUP");
      await client.rm("/xattr", { recursive: true });
    });

    test("a 50 MiB random file round-trips byte for byte; odd ranges across chunk boundaries", async () => {
      const data = randomBytes(50 * MiB + 12345);
      const fd = await client.open("/big.bin", O_CREAT | O_WRONLY | O_TRUNC);
      // Uneven write sizes so writes straddle chunk boundaries.
      for (let offset = 0; offset < data.length; offset += 3 * MiB + 17) {
        await client.write(fd, data.subarray(offset, offset + 3 * MiB + 17));
      }
      await client.close(fd);
      assert.equal((await client.stat("/big.bin")).size, data.length);
      const back = await readAll(client, "/big.bin");
      assert.equal(
        createHash("sha256").update(back).digest("hex"),
        createHash("sha256").update(data).digest("hex"),
      );
      const reader = await client.open("/big.bin");
      const chunk = 8 * MiB;
      for (const [offset, length] of [
        [chunk - 1, 2],
        [chunk - 100, 300],
        [3 * chunk - 7, 2 * chunk + 13],
        [1, 1],
        [data.length - 5, 100],
        [data.length, 10],
        [data.length + 1000, 10],
      ] as const) {
        const got = await client.pread(reader, length, offset);
        assert.deepEqual(
          got,
          data.subarray(offset, Math.min(data.length, offset + length)),
          `range ${offset}+${length}`,
        );
      }
      await client.close(reader);
      await client.unlink("/big.bin");
    });

    test("a write at 20 MiB into an empty file leaves zeros before it; truncate down and up", async () => {
      const fd = await client.open("/holes", O_CREAT | O_RDWR);
      await client.pwrite(fd, Buffer.from("tail"), 20 * MiB);
      await client.close(fd);
      const bytes = await readAll(client, "/holes");
      assert.equal(bytes.length, 20 * MiB + 4);
      assert.ok(
        bytes.subarray(0, 20 * MiB).every((b) => b === 0),
        "zeros before the write",
      );
      assert.equal(bytes.subarray(20 * MiB).toString(), "tail");

      const w = await client.open("/trunc", O_CREAT | O_RDWR);
      await client.write(w, Buffer.alloc(10 * MiB, 0x61));
      await client.close(w);
      await client.truncate("/trunc", 9 * MiB);
      assert.equal((await client.stat("/trunc")).size, 9 * MiB);
      await client.truncate("/trunc", 5);
      await client.truncate("/trunc", 9 * MiB);
      const grown = await readAll(client, "/trunc");
      assert.equal(grown.length, 9 * MiB);
      assert.equal(grown.subarray(0, 5).toString(), "aaaaa");
      assert.ok(
        grown.subarray(5).every((b) => b === 0),
        "bytes past a truncate read as zeros after growing",
      );
      await client.truncate("/trunc", 0);
      assert.equal((await readAll(client, "/trunc")).length, 0);
    });

    test("O_APPEND, O_TRUNC, O_EXCL, seek", async () => {
      const a = await client.open("/flags", O_CREAT | O_WRONLY);
      await client.write(a, Buffer.from("one"));
      await client.close(a);
      const app = await client.open("/flags", O_WRONLY | O_APPEND);
      await client.write(app, Buffer.from("two"));
      await client.close(app);
      assert.equal((await readAll(client, "/flags")).toString(), "onetwo");
      assert.equal(await code(client.open("/flags", O_CREAT | O_EXCL | O_WRONLY)), "EEXIST");
      const t = await client.open("/flags", O_WRONLY | O_TRUNC);
      assert.equal((await client.stat("/flags")).size, 0, "O_TRUNC empties the file at open");
      await client.write(t, Buffer.from("three"));
      await client.close(t);
      const r = await client.open("/flags", O_RDONLY);
      assert.equal(await client.seek(r, -2, SEEK_END), 3);
      assert.equal((await client.read(r, 10)).toString(), "ee");
      assert.equal(await code(client.write(r, Buffer.from("x"))), "EBADF", "read-only descriptor");
      await client.close(r);
      assert.equal(await code(client.open("/", O_RDONLY)), "EISDIR");
    });

    test("rename over an existing file, a directory into itself refused, readdir of many entries", async () => {
      for (const [path, text] of [
        ["/r-src", "source"],
        ["/r-dst", "destination"],
      ]) {
        const fd = await client.open(path!, O_CREAT | O_WRONLY);
        await client.write(fd, Buffer.from(text!));
        await client.close(fd);
      }
      await client.rename("/r-src", "/r-dst");
      assert.equal((await readAll(client, "/r-dst")).toString(), "source");
      assert.equal(await code(client.stat("/r-src")), "ENOENT");
      await client.mkdir("/tree/a/b", { recursive: true });
      assert.equal(await code(client.rename("/tree", "/tree/a/b/c")), "EINVAL");
      assert.equal(await code(client.rename("/tree", "/tree/a")), "EINVAL");
      await client.mkdir("/many");
      await Promise.all(
        Array.from({ length: 2500 }, (_, i) =>
          client.mkdir(`/many/d${String(i).padStart(4, "0")}`),
        ),
      );
      const entries = await client.readdir("/many");
      assert.equal(entries.length, 2500, "readdir pages through every entry");
      assert.equal(new Set(entries.map((e) => e.name)).size, 2500);
    });

    test("bad input gets the documented error and the node keeps serving", async () => {
      const fd = await client.open("/plain", O_CREAT | O_WRONLY);
      await client.close(fd);
      assert.equal(await code(client.stat("relative/path")), "EINVAL");
      assert.equal(await code(client.mkdir("/a/../b")), "EINVAL");
      assert.equal(await code(client.open(`/${"n".repeat(256)}`, O_CREAT)), "ENAMETOOLONG");
      assert.equal(await code(client.open("/nul\0byte", O_CREAT)), "EINVAL");
      assert.equal(await code(client.open("/plain/child", O_CREAT)), "ENOTDIR");
      assert.equal(await code(client.mkdir("/plain/child")), "ENOTDIR");
      assert.equal(await code(client.open("/plain", 0o40000000)), "EINVAL");
      const r = await client.open("/plain");
      assert.equal(await code(client.pread(r, 10, -1)), "EINVAL");
      assert.equal(await code(client.pread(r, -1, 0)), "EINVAL");
      assert.equal(await code(client.seek(r, -5)), "EINVAL");
      await client.close(r);
      assert.equal(await code(client.truncate("/plain", -1)), "EINVAL");
      assert.equal(await code(client.rmdir("/")), "EINVAL");

      // The same through a raw connection, past the SDK's own checks: the server validates too.
      const raw = new GrpcTransport({
        channels: clientChannelSecurity(node.tlsCa),
      }).connect(node.address);
      const inode = (await raw.stat({ path: "/plain", access: 0 })).inode!;
      // A file service that moves no bytes refuses every read and write, however malformed.
      const bytesCode = (expected: string) => (node.bytesThroughFileService ? expected : "ENOTSUP");
      assert.equal(await code(raw.stat({ path: "no/slash", access: 0 })), "EINVAL");
      assert.equal(
        await code(
          raw.create({
            path: "/x/../y",
            mode: 0o644,
            exclusive: false,
            truncate: false,
            access: 0,
          }),
        ),
        "EINVAL",
      );
      assert.equal(
        await code(
          raw.create({
            path: "/bad-mode",
            mode: 0o170000,
            exclusive: false,
            truncate: false,
            access: 0,
          }),
        ),
        "EINVAL",
      );
      assert.equal(
        await code(
          raw.writeChunk(
            { inodeId: inode.id, slotIndex: 0, offsetInSlot: 8 * MiB, path: "/plain" },
            Buffer.from("x"),
          ),
        ),
        bytesCode("EINVAL"),
      );
      assert.equal(
        await code(
          raw.writeChunk(
            { inodeId: 99_999, slotIndex: 0, offsetInSlot: 0, path: "/gone" },
            Buffer.from("x"),
          ),
        ),
        bytesCode("ENOENT"),
      );
      assert.equal(
        await code(
          raw.writeChunk(
            { inodeId: 1, slotIndex: 0, offsetInSlot: 0, path: "/" },
            Buffer.from("x"),
          ),
        ),
        bytesCode("EISDIR"),
      );
      const readBad = async () => {
        for await (const _ of raw.read({
          inodeId: inode.id,
          offset: 0,
          length: 1024 * MiB,
          path: "/plain",
        })) {
          // drain
        }
      };
      assert.equal(await code(readBad()), "EINVAL", "a read over 64 MiB is refused first");
      raw.close();
      assert.equal((await client.status()).nodes.length, node.seeds.length, "still serving");
    });
  });

describe("single node: durability, corruption and garbage collection", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test("kill -9 right after fsync: every fsynced byte survives; unsynced data is whole chunks or holes", async () => {
    const chunk = MiB;
    const args = ["--chunk-size", String(chunk)];
    let node = await startNode({ args });
    dirs.push(node.dataDir);
    const synced = randomBytes(3 * chunk + 1000);
    const pending = randomBytes(4 * chunk);
    for (let round = 0; round < 3; round++) {
      const client = connect(node.address);
      const fd = await client.open(`/synced-${round}`, O_CREAT | O_WRONLY);
      await client.write(fd, synced);
      await client.fsync(fd);
      const loose = await client.open(`/unsynced-${round}`, O_CREAT | O_WRONLY);
      // Full chunks start flushing in the background; kill the node while they may be in flight.
      const writing = client.write(loose, pending).catch(() => undefined);
      await new Promise((r) => setTimeout(r, round * 15));
      await node.kill();
      await writing;
      await client.closeClient();
      node = await startNode({ dataDir: node.dataDir, args });
      const reader = connect(node.address);
      for (let seen = 0; seen <= round; seen++) {
        assert.deepEqual(
          await readAll(reader, `/synced-${seen}`),
          synced,
          `fsynced file of round ${seen}`,
        );
      }
      const loosePath = `/unsynced-${round}`;
      const bytes = await readAll(reader, loosePath).catch((error) =>
        error.code === "ENOENT" ? Buffer.alloc(0) : Promise.reject(error),
      );
      assert.equal(bytes.length % chunk, 0, "only whole chunks of an unsynced write survive");
      // Two flushes are in flight per descriptor and may land in either order, so a chunk
      // before one that landed may be absent: a hole, zeros. The last chunk made the size.
      const zeros = Buffer.alloc(chunk);
      for (let start = 0; start < bytes.length; start += chunk) {
        const got = bytes.subarray(start, start + chunk);
        const written = pending.subarray(start, start + chunk);
        const last = start + chunk === bytes.length;
        assert.ok(
          got.equals(written) || (!last && got.equals(zeros)),
          `chunk at ${start / chunk} of ${bytes.length / chunk} holds the bytes written${last ? "" : " or is a hole"}, never a mix`,
        );
      }
      await reader.closeClient();
    }
    await node.stop();
  });

  test("a flipped byte in a chunk file gives EIO naming the chunk, never wrong data", async () => {
    const node = await startNode();
    dirs.push(node.dataDir);
    const client = connect(node.address);
    const fd = await client.open("/victim", O_CREAT | O_WRONLY);
    await client.write(fd, randomBytes(200_000));
    await client.close(fd);
    const [file] = await chunkFiles(node.dataDir);
    assert.ok(file);
    const handle = await open(file, "r+");
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 150_000);
    await handle.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, 150_000);
    await handle.close();
    const chunkId = file.slice(file.lastIndexOf("/") + 1);
    await assert.rejects(readAll(client, "/victim"), (error: SandstoreError) => {
      assert.equal(error.code, "EIO");
      assert.match(error.message, new RegExp(chunkId));
      return true;
    });
    const r = await client.open("/victim");
    assert.equal((await client.pread(r, 1000, 0)).length, 1000, "undamaged blocks still read");
    await client.close(r);
    await client.closeClient();
    await node.stop();
  });

  test("chunks of removed and overwritten files are gone from disk after garbage collection", async () => {
    const node = await startNode({
      args: ["--gc-interval-ms", "50", "--gc-grace-ms", "0", "--chunk-size", String(MiB)],
    });
    dirs.push(node.dataDir);
    const client = connect(node.address);
    const write = async (path: string, bytes: Buffer) => {
      const fd = await client.open(path, O_CREAT | O_WRONLY | O_TRUNC);
      await client.write(fd, bytes);
      await client.close(fd);
    };
    await write("/keep", randomBytes(2 * MiB));
    await write("/overwrite", randomBytes(2 * MiB));
    await write("/overwrite", randomBytes(MiB));
    await write("/remove", randomBytes(3 * MiB));
    await client.unlink("/remove");
    const fd = await client.open("/keep", O_RDWR);
    await client.pwrite(fd, Buffer.from("patched"), 10);
    await client.close(fd);
    // Referenced now: /keep's 2 chunks and /overwrite's 1.
    await waitFor(
      async () => (await chunkFiles(node.dataDir)).length === 3,
      "garbage collection to leave 3 chunks",
    );
    assert.equal((await client.status()).nodes[0]!.chunkCount, 3);
    assert.equal((await readAll(client, "/keep")).subarray(10, 17).toString(), "patched");
    await client.closeClient();
    await node.stop();
  });

  test("a restarted node keeps everything; a second node on the same data directory is refused", async () => {
    const node = await startNode();
    dirs.push(node.dataDir);
    const client = connect(node.address);
    await client.mkdir("/kept/deep", { recursive: true });
    const fd = await client.open("/kept/deep/file", O_CREAT | O_WRONLY);
    await client.write(fd, Buffer.from("still here"));
    await client.close(fd);
    await client.closeClient();
    await assert.rejects(startNode({ dataDir: node.dataDir }), /in use by process/);
    await node.stop();
    const again = await startNode({ dataDir: node.dataDir });
    const reader = connect(again.address);
    assert.equal((await readAll(reader, "/kept/deep/file")).toString(), "still here");
    await reader.closeClient();
    await again.stop();
  });
});

describe("the sandstore command", () => {
  let node: NodeProcess;
  let env: Record<string, string>;
  const scratch: string[] = [];
  before(async () => {
    node = await startNode();
    env = { SANDSTORE_CLUSTER: node.address };
  });
  after(async () => {
    await node.stop();
    await removeDataDir(node);
    for (const dir of scratch) await rm(dir, { recursive: true, force: true });
  });

  test("put, get, cat, ls, stat, mkdir, mv, rm -r, status; exit codes and error lines", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sandstore-cli-"));
    scratch.push(dir);
    const local = join(dir, "in.bin");
    const data = randomBytes(3 * MiB + 5);
    await writeFile(local, data);
    assert.equal(
      (await runCli(["put", local, "/cli/in.bin"], env)).code,
      1,
      "the parent does not exist yet",
    );
    const failed = await runCli(["put", local, "/cli/in.bin"], env);
    assert.match(failed.stderr, /^sandstore: put \/cli\/in\.bin: no such file or directory\n$/);
    assert.equal((await runCli(["mkdir", "-p", "/cli/sub/deeper"], env)).code, 0);
    assert.equal((await runCli(["put", local, "/cli/in.bin"], env)).code, 0);
    assert.equal((await runCli(["get", "/cli/in.bin", join(dir, "out.bin")], env)).code, 0);
    assert.deepEqual(await readFile(join(dir, "out.bin")), data);
    const fromStdin = await runCli(["put", "-", "/cli/stdin.txt"], env, Buffer.from("piped in\n"));
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    const cat = await runCli(["cat", "/cli/stdin.txt"], env);
    assert.equal(cat.stdout.toString(), "piped in\n");
    const ls = await runCli(["ls", "-l", "/cli"], env);
    assert.match(
      ls.stdout.toString(),
      /-rw-r--r--\s+1\s+0\s+0\s+3145733 .* in\.bin/,
      "owners shown",
    );
    assert.match(ls.stdout.toString(), /^drwxr-xr-x .* sub$/m);
    const json = JSON.parse(
      (await runCli(["stat", "--json", "/cli/in.bin"], env)).stdout.toString(),
    );
    assert.equal(json.size, data.length);
    assert.equal(json.type, "file");
    assert.equal((await runCli(["mv", "/cli/stdin.txt", "/cli/sub/moved.txt"], env)).code, 0);
    const stat = await runCli(["stat", "/cli/stdin.txt"], env);
    assert.equal(stat.code, 1);
    assert.equal(stat.stderr, "sandstore: stat /cli/stdin.txt: no such file or directory\n");
    const rmdir = await runCli(["rmdir", "/cli"], env);
    assert.equal(rmdir.stderr, "sandstore: rmdir /cli: directory not empty\n");
    assert.equal((await runCli(["rm", "-r", "/cli"], env)).code, 0);
    assert.equal((await runCli(["ls", "/"], env)).stdout.toString(), "");
    const status = JSON.parse((await runCli(["status", "--json"], env)).stdout.toString());
    assert.equal(status.leaderId, "n1");
    assert.equal(status.topology, "single");
    assert.equal((await runCli(["status"], env)).code, 0);
  });

  test("usage errors exit 2; help exits 0; an unreachable cluster is one clear line", async () => {
    assert.equal((await runCli(["bogus"], env)).code, 2);
    assert.equal((await runCli(["put", "only-one-arg"], env)).code, 2);
    assert.equal((await runCli(["node", "--id", "x"], env)).code, 2);
    assert.equal((await runCli(["up", "--topology", "single", "--nodes", "3"], env)).code, 2);
    assert.equal(
      (await runCli(["node", "--id", "x", "--listen", "nope", "--data-dir", "/tmp/x"], env)).code,
      2,
    );
    assert.equal((await runCli(["--help"], env)).code, 0);
    assert.equal((await runCli(["ls", "--help"], env)).code, 0);
    const relative = await runCli(["ls", "relative"], env);
    assert.equal(relative.code, 1);
    assert.equal(
      relative.stderr,
      "sandstore: ls relative: invalid argument (path must be absolute)\n",
    );
    const down = await runCli(["stat", "/"], { SANDSTORE_CLUSTER: "127.0.0.1:1" });
    assert.equal(down.code, 1);
    assert.equal(down.stderr.trim().split("\n").length, 1);
    assert.match(down.stderr, /^sandstore: stat: .*unavailable/);
  });
});
