import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import { SandstoreError } from "../common/errors.ts";
import { type Caller, FileType, type MetadataCommand } from "../gen/sandstore/v1/metadata.ts";
import { LmdbMetadataStore } from "./lmdb-metadata-store.ts";
import { MemoryMetadataStore } from "./memory-metadata-store.ts";
import type { MetadataStore } from "./metadata-store.ts";
import { MAX_READDIR_PAGE, MAX_SESSION_RESULTS, MAX_SESSIONS } from "./namespace.ts";
import type { NamespaceTables } from "./namespace-tables.ts";

const CHUNK = 4096;
const tempDir = temporaryDirectories("sandstore-ns-");

async function lmdbStore(): Promise<MetadataStore> {
  const dir = await tempDir("sandstore-ns-");
  return new LmdbMetadataStore({ path: dir });
}

/** The bootstrap entry every cluster's log starts with: settings with CHUNK-byte slots. */
const configure = (chunkSize = CHUNK, replicationFactor = 3, writeQuorum = 2): Cmd => ({
  $case: "configureCluster",
  value: { chunkSize, replicationFactor, writeQuorum },
});

/** A store of each kind with the cluster's settings applied at index 1. */
const kinds: Array<[string, () => Promise<MetadataStore>]> = [
  ["memory", async () => configured(new MemoryMetadataStore())],
  ["lmdb", async () => configured(await lmdbStore())],
];

function configured(store: MetadataStore): MetadataStore {
  const [result] = run(store, configure());
  assert.equal(result?.errno, "");
  return store;
}

/** Applies commands one at a time, numbering them after the store's applied index. */
function run(store: MetadataStore, ...commands: MetadataCommand["command"][]) {
  return commands.map((command) => {
    const [result] = store.apply([{ index: store.appliedIndex() + 1, command: { command } }]);
    assert.ok(result);
    return result;
  });
}

const now = 1_000;
type Cmd = NonNullable<MetadataCommand["command"]>;
const create = (
  path: string,
  extra: Partial<{ exclusive: boolean; truncate: boolean }> = {},
): Cmd => ({
  $case: "create",
  value: {
    path,
    mode: 0o644,
    uid: 0,
    gid: 0,
    exclusive: false,
    truncate: false,
    access: 0,
    nowMs: now,
    ...extra,
  },
});
const mkdir = (path: string, recursive = false): Cmd => ({
  $case: "mkdir",
  value: { path, mode: 0o755, uid: 0, gid: 0, recursive, nowMs: now },
});
const rmdir = (path: string): Cmd => ({ $case: "rmdir", value: { path, nowMs: now } });
const unlink = (path: string): Cmd => ({ $case: "unlink", value: { path, nowMs: now } });
const rename = (from: string, to: string): Cmd => ({
  $case: "rename",
  value: { from, to, nowMs: now },
});
const link = (from: string, to: string): Cmd => ({
  $case: "link",
  value: { from, to, nowMs: now },
});
const symlink = (path: string, target: string): Cmd => ({
  $case: "symlink",
  value: { path, target, uid: 0, gid: 0, nowMs: now },
});
const mknod = (path: string, type: FileType, rdev = 0): Cmd => ({
  $case: "mknod",
  value: { path, type, mode: 0o640, rdev, uid: 0, gid: 0, nowMs: now },
});
const truncate = (path: string, size: number): Cmd => ({
  $case: "setAttr",
  value: { path, size, nowMs: now, xattrs: [] },
});
const commit = (
  inodeId: number,
  slotIndex: number,
  expectedVersion: number,
  chunkId: string,
  length: number,
): Cmd => ({
  $case: "commitChunk",
  value: {
    inodeId,
    slotIndex,
    expectedVersion,
    chunkId,
    length,
    checksum: 1,
    replicas: ["n1"],
    minFileSize: slotIndex * CHUNK + length,
    nowMs: now,
  },
});

const writeInline = (inodeId: number, slotIndex: number, offset: number, data: string): Cmd => ({
  $case: "writeInline",
  value: { inodeId, slotIndex, offset, data: Buffer.from(data), nowMs: now },
});

const errnoOf = (store: MetadataStore, command: MetadataCommand["command"]) =>
  run(store, command)[0]!.errno;
const statCode = (store: MetadataStore, path: string) => {
  try {
    store.stat(path);
    return "ok";
  } catch (error) {
    assert.ok(error instanceof SandstoreError);
    return error.code;
  }
};
const owner = (inode: { uid: number; gid: number }) => [inode.uid, inode.gid];
const chunkId = (n: number) => n.toString(16).padStart(32, "0");

for (const [kind, open] of kinds) {
  describe(`namespace on ${kind}`, () => {
    test("a new store has the root directory; the settings are the log's first entry", async () => {
      const store = await open();
      assert.equal(store.appliedIndex(), 1);
      const root = store.stat("/");
      assert.equal(root.type, FileType.FILE_TYPE_DIRECTORY);
      assert.equal(root.nlink, 2);
      assert.deepEqual(store.settings(), {
        chunkSize: CHUNK,
        replicationFactor: 3,
        writeQuorum: 2,
      });
      await store.close();
    });

    test("the settings are decided once: a second bootstrap, a bad value or a user is refused", async () => {
      const store = await open();
      const decided = store.settings();
      assert.equal(run(store, configure(CHUNK * 2))[0]?.errno, "EEXIST");
      assert.deepEqual(store.settings(), decided, "the first decision stands");
      const fresh = kind === "memory" ? new MemoryMetadataStore() : await lmdbStore();
      assert.equal(fresh.settings(), undefined);
      const file = run(fresh, create("/f"))[0]?.inode;
      assert.ok(file, "namespace commands need no settings");
      assert.equal(
        run(fresh, commit(file.id, 0, 0, chunkId(1), 10))[0]?.errno,
        "EINVAL",
        "a chunk commit before the settings are decided is refused",
      );
      for (const bad of [configure(1000), configure(CHUNK, 0), configure(CHUNK, 3, 4)])
        assert.equal(run(fresh, bad)[0]?.errno, "EINVAL");
      const asUser = fresh.apply([
        {
          index: fresh.appliedIndex() + 1,
          command: { command: configure(), caller: { uid: 1000, gid: 1000, groups: [] } },
        },
      ]);
      assert.equal(asUser[0]?.errno, "EPERM");
      assert.equal(fresh.settings(), undefined);
      assert.equal(run(fresh, configure(CHUNK, 1, 1))[0]?.errno, "");
      assert.deepEqual(fresh.settings(), {
        chunkSize: CHUNK,
        replicationFactor: 1,
        writeQuorum: 1,
      });
      await fresh.close();
      await store.close();
    });

    test("a hard link is another name of one inode; the data goes with the last name", async () => {
      const store = await open();
      const file = run(store, create("/f"))[0]?.inode;
      assert.ok(file);
      assert.equal(errnoOf(store, commit(file.id, 0, 0, chunkId(1), 100)), "");
      assert.equal(errnoOf(store, mkdir("/d")), "");
      const [linked] = run(store, link("/f", "/d/g"));
      assert.equal(linked?.errno, "");
      assert.equal(linked?.inode?.nlink, 2);
      assert.equal(store.stat("/d/g").id, file.id);
      assert.equal(store.stat("/f").nlink, 2);
      assert.equal(errnoOf(store, link("/f", "/d/g")), "EEXIST");
      assert.equal(errnoOf(store, link("/d", "/d2")), "EPERM", "no hard links to directories");
      assert.equal(errnoOf(store, link("/nope", "/x")), "ENOENT");
      assert.equal(errnoOf(store, link("/f", "/nope/x")), "ENOENT");
      assert.equal(errnoOf(store, unlink("/f")), "");
      assert.equal(store.stat("/d/g").nlink, 1);
      assert.ok(store.isChunkReferenced(chunkId(1)), "the other name keeps the data");
      assert.equal(errnoOf(store, link("/d/g", "/h")), "");
      assert.equal(errnoOf(store, rename("/h", "/d/g")), "", "a rename onto its own link");
      assert.equal(store.stat("/h").nlink, 2, "does nothing, as POSIX says");
      assert.equal(errnoOf(store, create("/k")), "");
      assert.equal(errnoOf(store, rename("/k", "/h")), "", "a rename over one name");
      assert.equal(store.stat("/d/g").nlink, 1, "drops one link");
      assert.ok(store.isChunkReferenced(chunkId(1)));
      assert.equal(errnoOf(store, unlink("/d/g")), "");
      assert.ok(!store.isChunkReferenced(chunkId(1)), "the last name takes the data with it");
      assert.equal(store.counts().inodes, 3, "root, /d and /h (was /k)");
      await store.close();
    });

    test("a symbolic link holds its target as given and is never followed", async () => {
      const store = await open();
      assert.equal(errnoOf(store, mkdir("/d")), "");
      const [made] = run(store, symlink("/l", "d/../nowhere"));
      assert.equal(made?.errno, "");
      const l = store.stat("/l");
      assert.equal(l.type, FileType.FILE_TYPE_SYMLINK);
      assert.equal(l.symlinkTarget, "d/../nowhere");
      assert.equal(l.size, 12);
      assert.equal(l.mode, 0o777);
      assert.equal(errnoOf(store, symlink("/l", "x")), "EEXIST");
      assert.equal(errnoOf(store, symlink("/m", "")), "EINVAL");
      assert.equal(errnoOf(store, symlink("/m", "a\0b")), "EINVAL");
      assert.equal(errnoOf(store, symlink("/m", "x".repeat(4096))), "ENAMETOOLONG");
      assert.equal(errnoOf(store, symlink("/m", "x".repeat(4095))), "");
      assert.equal(errnoOf(store, create("/l")), "ELOOP", "an open does not follow it");
      assert.equal(errnoOf(store, truncate("/l", 0)), "EINVAL");
      assert.equal(errnoOf(store, writeInline(l.id, 0, 0, "x")), "ELOOP");
      assert.equal(errnoOf(store, symlink("/d/in", "/d")), "");
      assert.equal(statCode(store, "/d/in/x"), "ENOTDIR", "a path through it is not resolved");
      assert.equal(errnoOf(store, link("/l", "/l2")), "", "a hard link to the link itself");
      assert.equal(store.stat("/l2").symlinkTarget, "d/../nowhere");
      assert.equal(errnoOf(store, rename("/l", "/d/l")), "");
      assert.equal(errnoOf(store, unlink("/d/l")), "");
      assert.equal(errnoOf(store, unlink("/l2")), "");
      assert.equal(statCode(store, "/l2"), "ENOENT");
      await store.close();
    });

    test("mknod holds FIFOs, sockets and (for root) devices, whose I/O is never the store's", async () => {
      const store = await open();
      const user: Caller = { uid: 1000, gid: 1000, groups: [] };
      assert.equal(errnoOf(store, mkdir("/d")), "");
      assert.equal(
        errnoOf(store, {
          $case: "setAttr",
          value: { path: "/d", mode: 0o777, nowMs: now, xattrs: [] },
        }),
        "",
      );
      const asUser = (command: Cmd) =>
        store.apply([{ index: store.appliedIndex() + 1, command: { command, caller: user } }])[0]
          ?.errno;
      assert.equal(asUser(mknod("/d/p", FileType.FILE_TYPE_FIFO)), "");
      assert.equal(asUser(mknod("/d/s", FileType.FILE_TYPE_SOCKET)), "");
      assert.equal(asUser(mknod("/d/c", FileType.FILE_TYPE_CHAR_DEVICE, 259)), "EPERM");
      assert.equal(errnoOf(store, mknod("/d/c", FileType.FILE_TYPE_CHAR_DEVICE, 259)), "");
      assert.equal(errnoOf(store, mknod("/d/b", FileType.FILE_TYPE_BLOCK_DEVICE, 2049)), "");
      const fifo = store.stat("/d/p");
      assert.equal(fifo.type, FileType.FILE_TYPE_FIFO);
      assert.equal(fifo.mode, 0o640);
      assert.equal(fifo.uid, 1000);
      assert.equal(fifo.rdev, 0);
      assert.equal(store.stat("/d/c").rdev, 259);
      assert.equal(store.stat("/d/b").type, FileType.FILE_TYPE_BLOCK_DEVICE);
      assert.equal(errnoOf(store, mknod("/d/p", FileType.FILE_TYPE_FIFO)), "EEXIST");
      assert.equal(errnoOf(store, mknod("/d/r", FileType.FILE_TYPE_REGULAR)), "EINVAL");
      assert.equal(errnoOf(store, mknod("/d/r", FileType.FILE_TYPE_DIRECTORY)), "EINVAL");
      assert.equal(errnoOf(store, create("/d/p")), "ENOTSUP", "an open is the kernel's");
      assert.equal(errnoOf(store, truncate("/d/p", 0)), "EINVAL");
      assert.equal(errnoOf(store, writeInline(fifo.id, 0, 0, "x")), "ENOTSUP");
      assert.equal(errnoOf(store, rename("/d/p", "/d/q")), "");
      assert.equal(errnoOf(store, unlink("/d/q")), "");
      assert.equal(errnoOf(store, unlink("/d/c")), "");
      await store.close();
    });

    test("extended attributes: set, replaced and removed together; bounded; by permission", async () => {
      const store = await open();
      const as = (
        caller: Caller | undefined,
        ...xattrs: ReadonlyArray<readonly [string, string | null]>
      ) =>
        store.apply([
          {
            index: store.appliedIndex() + 1,
            command: {
              caller,
              command: {
                $case: "setAttr",
                value: {
                  path: "/x",
                  nowMs: now,
                  xattrs: xattrs.map(([name, value]) => ({
                    name,
                    value: Buffer.from(value ?? ""),
                    remove: value === null,
                  })),
                },
              },
            },
          },
        ])[0]?.errno;
      const xattrsOf = () =>
        Object.fromEntries(
          Object.entries(store.stat("/x").xattrs).map(([name, value]) => [name, String(value)]),
        );
      const user: Caller = { uid: 2000, gid: 2000, groups: [] };
      assert.equal(errnoOf(store, create("/x")), "");
      assert.deepEqual(xattrsOf(), {});
      assert.equal(as(undefined, ["user.etag", "abc"], ["user.type", "text/plain"]), "");
      assert.deepEqual(xattrsOf(), { "user.etag": "abc", "user.type": "text/plain" });
      assert.equal(
        as(undefined, ["user.etag", "def"], ["user.type", null], ["user.gone", null]),
        "",
      );
      assert.deepEqual(xattrsOf(), { "user.etag": "def" });
      // Refused changes change nothing, the good ones beside them included.
      for (const [why, errno, change] of [
        ["no namespace", "ENOTSUP", ["etag", "x"]],
        ["an empty name", "EINVAL", ["", "x"]],
        ["a name too long", "EINVAL", [`user.${"n".repeat(251)}`, "x"]],
        ["a value too large", "EINVAL", ["user.big", "v".repeat(64 * 1024 + 1)]],
      ] as const) {
        assert.equal(as(undefined, ["user.ok", "1"], change), errno, why);
        assert.deepEqual(xattrsOf(), { "user.etag": "def" }, why);
      }
      const half = "v".repeat(40 * 1024);
      assert.equal(as(undefined, ["user.one", half]), "");
      assert.equal(as(undefined, ["user.two", half]), "ENOSPC", "64 KiB per inode in all");
      assert.equal(as(undefined, ["user.one", null]), "");
      // A file 0644 root's: another user may not write its attributes; trusted.* is root's.
      assert.equal(as(user, ["user.etag", "mine"]), "EACCES");
      assert.equal(as(user, ["trusted.x", "1"]), "EPERM");
      assert.equal(as(undefined, ["trusted.x", "1"]), "");
      assert.deepEqual(xattrsOf(), { "user.etag": "def", "trusted.x": "1" });
      await store.close();
    });

    test("root makes entries for the owner a command names; anyone else owns what it makes", async () => {
      const store = await open();
      const as = (caller: Caller | undefined, command: Cmd) =>
        store.apply([{ index: store.appliedIndex() + 1, command: { command, caller } }])[0]?.errno;
      const forUser = (command: Cmd): Cmd => {
        if (command.$case !== "create" && command.$case !== "mkdir") return command;
        return { ...command, value: { ...command.value, uid: 1000, gid: 1000 } } as Cmd;
      };
      const root: Caller = { uid: 0, gid: 0, groups: [] };
      const user: Caller = { uid: 2000, gid: 2000, groups: [] };
      assert.equal(as(root, forUser(create("/by-root"))), "");
      assert.equal(as(undefined, forUser(mkdir("/no-auth"))), "");
      assert.deepEqual(owner(store.stat("/by-root")), [1000, 1000]);
      assert.deepEqual(owner(store.stat("/no-auth")), [1000, 1000]);
      assert.equal(
        as(root, {
          $case: "setAttr",
          value: { path: "/no-auth", mode: 0o2777, gid: 3000, nowMs: now, xattrs: [] },
        }),
        "",
      );
      assert.equal(as(root, forUser(create("/no-auth/f"))), "");
      assert.deepEqual(
        owner(store.stat("/no-auth/f")),
        [1000, 3000],
        "a set-group-id parent's group",
      );
      assert.equal(as(user, forUser(create("/no-auth/g"))), "");
      assert.deepEqual(
        owner(store.stat("/no-auth/g")),
        [2000, 3000],
        "a user cannot make files for another",
      );
      await store.close();
    });

    test("create, mkdir, rmdir and unlink report every POSIX error at apply time", async () => {
      const store = await open();
      assert.equal(errnoOf(store, create("/missing/f")), "ENOENT");
      assert.equal(errnoOf(store, create("/f")), "");
      assert.equal(
        errnoOf(store, create("/f")),
        "",
        "O_CREAT without O_EXCL opens an existing file",
      );
      assert.equal(errnoOf(store, create("/f", { exclusive: true })), "EEXIST");
      assert.equal(errnoOf(store, create("/f/g")), "ENOTDIR");
      assert.equal(statCode(store, "/f/g"), "ENOTDIR");
      assert.equal(errnoOf(store, mkdir("/d")), "");
      assert.equal(errnoOf(store, mkdir("/d")), "EEXIST");
      assert.equal(errnoOf(store, create("/d")), "EISDIR");
      assert.equal(errnoOf(store, mkdir("/x/y")), "ENOENT");
      assert.equal(errnoOf(store, mkdir("/x/y", true)), "");
      assert.equal(
        errnoOf(store, mkdir("/x/y", true)),
        "",
        "mkdir -p of an existing directory succeeds",
      );
      assert.equal(errnoOf(store, mkdir("/f/z", true)), "ENOTDIR");
      assert.equal(errnoOf(store, mkdir("/f", true)), "EEXIST");
      assert.equal(errnoOf(store, rmdir("/x")), "ENOTEMPTY");
      assert.equal(errnoOf(store, rmdir("/f")), "ENOTDIR");
      assert.equal(errnoOf(store, rmdir("/nope")), "ENOENT");
      assert.equal(errnoOf(store, rmdir("/")), "EINVAL");
      assert.equal(errnoOf(store, unlink("/d")), "EISDIR");
      assert.equal(errnoOf(store, unlink("/nope")), "ENOENT");
      assert.equal(errnoOf(store, unlink("/f")), "");
      assert.equal(statCode(store, "/f"), "ENOENT");
      assert.equal(errnoOf(store, rmdir("/x/y")), "");
      assert.equal(errnoOf(store, rmdir("/x")), "");
      assert.equal(store.stat("/").nlink, 3, "root keeps one link per subdirectory (/d)");
      await store.close();
    });

    test("rename replaces files, refuses type mismatches and cycles", async () => {
      const store = await open();
      run(
        store,
        mkdir("/a/b/c", true),
        create("/f1"),
        create("/f2"),
        mkdir("/e"),
        mkdir("/full"),
        create("/full/x"),
      );
      const f1 = store.stat("/f1").id;
      assert.equal(errnoOf(store, rename("/f1", "/f2")), "");
      assert.equal(store.stat("/f2").id, f1, "rename replaces an existing file");
      assert.equal(statCode(store, "/f1"), "ENOENT");
      assert.equal(errnoOf(store, rename("/a", "/a/b/c/inside")), "EINVAL");
      assert.equal(errnoOf(store, rename("/a", "/a")), "", "renaming onto itself is a no-op");
      assert.equal(errnoOf(store, rename("/a", "/f2")), "ENOTDIR");
      assert.equal(errnoOf(store, rename("/f2", "/e")), "EISDIR");
      assert.equal(errnoOf(store, rename("/e", "/full")), "ENOTEMPTY");
      assert.equal(errnoOf(store, rename("/nope", "/z")), "ENOENT");
      assert.equal(errnoOf(store, rename("/f2", "/nope/z")), "ENOENT");
      assert.equal(errnoOf(store, rename("/", "/z")), "EINVAL");
      assert.equal(
        errnoOf(store, rename("/a/b", "/e")),
        "",
        "a directory replaces an empty directory",
      );
      assert.equal(store.stat("/e/c").type, FileType.FILE_TYPE_DIRECTORY);
      assert.equal(store.stat("/e").parentId, 1);
      assert.equal(store.stat("/a").nlink, 2, "/a lost its subdirectory b");
      await store.close();
    });

    test("chunk commits are conditional on the slot version and keep the reference index", async () => {
      const store = await open();
      const file = run(store, create("/f"))[0]!.inode!;
      assert.equal(run(store, commit(file.id, 0, 0, chunkId(1), 100))[0]!.errno, "");
      assert.equal(store.stat("/f").size, 100);
      assert.equal(
        run(store, commit(file.id, 0, 0, chunkId(2), 50))[0]!.errno,
        "VERSION_CONFLICT",
        "stale version loses",
      );
      assert.ok(!store.isChunkReferenced(chunkId(2)));
      assert.equal(run(store, commit(file.id, 0, 1, chunkId(3), 200))[0]!.errno, "");
      assert.ok(
        !store.isChunkReferenced(chunkId(1)),
        "the superseded chunk is no longer referenced",
      );
      assert.ok(store.isChunkReferenced(chunkId(3)));
      assert.equal(
        run(store, commit(file.id, 3, 0, chunkId(4), 10))[0]!.errno,
        "",
        "a write into a hole lands in its own slot",
      );
      assert.deepEqual(
        store.chunkSlots(file.id, 0, 10).map((slot) => [slot.index, slot.chunkId, slot.version]),
        [
          [0, chunkId(3), 2],
          [3, chunkId(4), 1],
        ],
      );
      assert.equal(store.stat("/f").size, 3 * CHUNK + 10);
      assert.equal(run(store, commit(999, 0, 0, chunkId(5), 1))[0]!.errno, "ENOENT");
      assert.equal(store.counts().chunks, 2);
      assert.equal(errnoOf(store, unlink("/f")), "");
      assert.ok(
        !store.isChunkReferenced(chunkId(3)) && !store.isChunkReferenced(chunkId(4)),
        "unlink drops the chunk map",
      );
      assert.equal(store.counts().chunks, 0);
      await store.close();
    });

    test("truncate drops whole slots and shortens the last one", async () => {
      const store = await open();
      const file = run(store, create("/f"))[0]!.inode!;
      run(
        store,
        commit(file.id, 0, 0, chunkId(1), CHUNK),
        commit(file.id, 1, 0, chunkId(2), CHUNK),
        commit(file.id, 2, 0, chunkId(3), 10),
      );
      assert.equal(errnoOf(store, truncate("/f", CHUNK + 100)), "");
      const slots = store.chunkSlots(file.id, 0, 10);
      assert.deepEqual(
        slots.map((s) => [s.index, s.length]),
        [
          [0, CHUNK],
          [1, 100],
        ],
      );
      assert.ok(!store.isChunkReferenced(chunkId(3)));
      assert.equal(errnoOf(store, truncate("/f", 5 * CHUNK)), "");
      assert.equal(
        store.stat("/f").size,
        5 * CHUNK,
        "growing keeps the shortened slot short: the rest reads as zeros",
      );
      assert.equal(store.chunkSlots(file.id, 1, 2)[0]!.length, 100);
      assert.equal(errnoOf(store, truncate("/", 0)), "EISDIR");
      assert.equal(errnoOf(store, create("/f", { truncate: true })), "");
      assert.equal(store.stat("/f").size, 0);
      assert.equal(store.chunkSlots(file.id, 0, 10).length, 0);
      await store.close();
    });

    test("inline writes merge in the slot; truncate shortens them; a chunk commit replaces them", async () => {
      const store = await open();
      const file = run(store, create("/f"))[0]!.inode!;
      const inlineBytes = (slot: number) =>
        store.chunkSlots(file.id, slot, slot + 1)[0]?.inlineData?.toString("latin1");
      assert.equal(run(store, writeInline(file.id, 0, 2, "abc"))[0]!.errno, "");
      assert.equal(inlineBytes(0), "\0\0abc", "the hole before the write reads as zeros");
      assert.equal(run(store, writeInline(file.id, 0, 4, "xyz"))[0]!.errno, "");
      assert.equal(inlineBytes(0), "\0\0abxyz");
      assert.equal(run(store, writeInline(file.id, 2, 0, "tail"))[0]!.errno, "");
      assert.equal(store.stat("/f").size, 2 * CHUNK + 4);
      assert.equal(store.counts().chunks, 0, "inline slots are not chunks");
      assert.equal(errnoOf(store, truncate("/f", 3)), "");
      assert.deepEqual(
        store.chunkSlots(file.id, 0, 10).map((s) => [s.index, s.length, s.version]),
        [[0, 3, 3]],
      );
      assert.equal(inlineBytes(0), "\0\0a");
      assert.equal(run(store, writeInline(file.id, 0, 0, ""))[0]!.errno, "EINVAL");
      assert.equal(run(store, writeInline(file.id, 0, CHUNK - 1, "ab"))[0]!.errno, "EINVAL");
      assert.equal(run(store, writeInline(1, 0, 0, "a"))[0]!.errno, "EISDIR");
      assert.equal(run(store, writeInline(999, 0, 0, "a"))[0]!.errno, "ENOENT");
      assert.equal(
        run(store, commit(file.id, 0, 0, chunkId(1), 100))[0]!.errno,
        "VERSION_CONFLICT",
      );
      assert.equal(
        run(store, commit(file.id, 0, 2, chunkId(1), 100))[0]!.errno,
        "VERSION_CONFLICT",
        "a writer that merged the bytes truncate cut loses its race",
      );
      assert.equal(run(store, commit(file.id, 0, 3, chunkId(1), 100))[0]!.errno, "");
      assert.equal(store.counts().chunks, 1);
      assert.ok(store.isChunkReferenced(chunkId(1)));
      assert.equal(
        run(store, writeInline(file.id, 0, 0, "a"))[0]!.errno,
        "NOT_INLINE",
        "a slot that holds a chunk takes no inline write",
      );
      assert.equal(errnoOf(store, unlink("/f")), "");
      assert.equal(store.counts().chunks, 0);
      await store.close();
    });

    test("readdir pages by name: concurrent changes never skip or repeat a surviving entry", async () => {
      const store = await open();
      const names = Array.from({ length: 50 }, (_, i) => `f${String(i).padStart(3, "0")}`);
      run(store, mkdir("/d"), ...names.map((n) => create(`/d/${n}`)));
      const seen: string[] = [];
      let after = "";
      for (let page = 0; ; page++) {
        const { entries, done } = store.readDir("/d", after, 7);
        seen.push(...entries.map((e) => e.name));
        // Between pages, remove an entry already listed and add one before the cursor.
        run(store, unlink(`/d/${seen[0]}`), create(`/d/a${page}`));
        after = entries.at(-1)?.name ?? after;
        if (done) break;
      }
      assert.deepEqual(seen, names, "every original entry exactly once, in order");
      assert.equal(statCode(store, "/d/nope"), "ENOENT");
      assert.throws(
        () => store.readDir("/d/f049", "", 10),
        (e: SandstoreError) => e.code === "ENOTDIR",
      );
      await store.close();
    });

    test("a readdir page stops at its byte bound, however many entries were asked for", async () => {
      const store = await open();
      // 7,000 names of 250 bytes: a whole page would be about 2.6 MB, over the 2 MiB bound.
      const names = Array.from({ length: 7000 }, (_, i) =>
        `${String(i).padStart(5, "0")}`.padEnd(250, "x"),
      );
      run(store, mkdir("/long"), ...names.map((n) => create(`/long/${n}`)));
      const first = store.readDir("/long", "", MAX_READDIR_PAGE);
      assert.equal(first.done, false);
      assert.ok(first.entries.length > 1000 && first.entries.length < 7000);
      const rest = store.readDir("/long", first.entries.at(-1)!.name, MAX_READDIR_PAGE);
      assert.equal(rest.done, true);
      assert.deepEqual(
        [...first.entries, ...rest.entries].map((e) => e.name),
        names,
      );
      await store.close();
    });

    test("inode ids are allocated by the state machine, deterministically", async () => {
      const a = await open();
      const b = await open();
      const commands = [mkdir("/d"), create("/d/x"), create("/y"), unlink("/y"), create("/z")];
      run(a, ...commands);
      run(b, ...commands);
      assert.equal(a.stat("/z").id, b.stat("/z").id);
      assert.equal(a.stat("/z").id, 5);
      await a.close();
      await b.close();
    });

    test("entries at or below the applied index are skipped; a gap is refused", async () => {
      const store = await open();
      const base = store.appliedIndex();
      const entries = [
        { index: base + 1, command: { command: create("/a") } },
        { index: base + 2, command: { command: create("/b", { exclusive: true }) } },
      ];
      assert.equal(store.apply(entries).length, 2);
      assert.equal(store.apply(entries).length, 0, "replaying applied entries changes nothing");
      assert.equal(store.stat("/b").nlink, 1);
      assert.equal(store.appliedIndex(), base + 2);
      assert.throws(
        () => store.apply([{ index: base + 5, command: { command: create("/c") } }]),
        /log gap/,
      );
      assert.equal(
        store.appliedIndex(),
        base + 2,
        "a refused batch leaves the applied index alone",
      );
      await store.close();
    });
  });
}

describe("client sessions: a retried mutation applies once", () => {
  for (const [kind, open] of kinds) {
    const withSession = (command: Cmd, sequence: number, acknowledgedBelow = 1) => ({
      command,
      session: { clientId: "client-a", sequence, acknowledgedBelow },
    });
    const applyAt = (store: MetadataStore, command: MetadataCommand) =>
      store.apply([{ index: store.appliedIndex() + 1, command }])[0];

    test(`${kind}: a retry gets the first result, and nothing is applied twice`, async () => {
      const store = await open();
      const first = applyAt(store, withSession(create("/f", { exclusive: true }), 1));
      assert.equal(first?.errno, "");
      // Without the session this retry would fail with EEXIST.
      assert.deepEqual(applyAt(store, withSession(create("/f", { exclusive: true }), 1)), first);
      assert.equal(applyAt(store, withSession(unlink("/f"), 2))?.errno, "");
      assert.equal(applyAt(store, withSession(unlink("/f"), 2))?.errno, "", "no ENOENT on retry");
      assert.equal(applyAt(store, withSession(mkdir("/d"), 3))?.errno, "");
      assert.equal(applyAt(store, withSession(mkdir("/d"), 3))?.errno, "");
      assert.equal(applyAt(store, withSession(rename("/d", "/e"), 4))?.errno, "");
      assert.equal(applyAt(store, withSession(rename("/d", "/e"), 4))?.errno, "");
      assert.equal(store.stat("/e").type, FileType.FILE_TYPE_DIRECTORY);
      assert.equal(store.counts().inodes, 2);
      await store.close();
    });

    test(`${kind}: a rejection is remembered too, so a later copy cannot succeed after the refusal`, async () => {
      const store = await open();
      assert.equal(applyAt(store, withSession(unlink("/g"), 1))?.errno, "ENOENT");
      run(store, create("/g"));
      assert.equal(applyAt(store, withSession(unlink("/g"), 1))?.errno, "ENOENT");
      assert.equal(store.stat("/g").type, FileType.FILE_TYPE_REGULAR);
      await store.close();
    });

    test(`${kind}: a chunk commit that lost its race is not remembered; the writer retries it`, async () => {
      const store = await open();
      const file = run(store, create("/w"))[0]!.inode!;
      assert.equal(
        applyAt(store, withSession(commit(file.id, 0, 5, chunkId(1), 10), 1))?.errno,
        "VERSION_CONFLICT",
      );
      assert.equal(
        applyAt(store, withSession(commit(file.id, 0, 0, chunkId(2), 10), 1))?.errno,
        "",
      );
      assert.equal(store.chunkSlots(file.id, 0, 1)[0]?.chunkId, chunkId(2));
      await store.close();
    });

    test(`${kind}: an inline write the slot cannot take is not remembered; the writer writes a chunk`, async () => {
      const store = await open();
      const file = run(store, create("/w"))[0]!.inode!;
      run(store, commit(file.id, 0, 0, chunkId(1), 10));
      assert.equal(
        applyAt(store, withSession(writeInline(file.id, 0, 0, "a"), 1))?.errno,
        "NOT_INLINE",
      );
      assert.equal(
        applyAt(store, withSession(commit(file.id, 0, 1, chunkId(2), 10), 1))?.errno,
        "",
      );
      assert.equal(store.chunkSlots(file.id, 0, 1)[0]?.chunkId, chunkId(2));
      await store.close();
    });

    test(`${kind}: acknowledged results are forgotten, and a late copy of one is refused`, async () => {
      const store = await open();
      applyAt(store, withSession(create("/h"), 1));
      applyAt(store, withSession(create("/i"), 2, 2));
      run(store, unlink("/h"));
      const late = applyAt(store, withSession(create("/h"), 1));
      assert.equal(late?.errno, "EINVAL");
      assert.throws(() => store.stat("/h"), SandstoreError, "the late copy created nothing");
      await store.close();
    });

    test(`${kind}: a client keeps at most MAX_SESSION_RESULTS results, the newest, and none it acknowledged`, async () => {
      const store = await open();
      const results = () =>
        [...(store as unknown as { tables: NamespaceTables }).tables.dump()].filter(
          (record) => record.table === "sessionResult",
        ).length;
      const total = MAX_SESSION_RESULTS + 4;
      for (let i = 1; i <= total; i++)
        applyAt(store, withSession(create(`/p${i}`, { exclusive: true }), i, 0));
      assert.equal(results(), MAX_SESSION_RESULTS);
      assert.equal(
        applyAt(store, withSession(create("/p1", { exclusive: true }), 1, 0))?.errno,
        "EEXIST",
        "the oldest result was dropped: its retry is applied again",
      );
      assert.equal(
        applyAt(store, withSession(create(`/p${total}`, { exclusive: true }), total, 0))?.errno,
        "",
        "the newest is remembered",
      );
      applyAt(store, withSession(mkdir("/q"), total + 1, total - 1));
      assert.equal(results(), 3, "results below what the client acknowledged are dropped");
      await store.close();
    });

    test(`${kind}: sessions are bounded; the least recently active are evicted`, async () => {
      const store = await open();
      for (let i = 0; i < MAX_SESSIONS + 1; i++) {
        store.apply([
          {
            index: store.appliedIndex() + 1,
            command: {
              command: mkdir("/", true),
              session: { clientId: `c${i}`, sequence: 1, acknowledgedBelow: 1 },
            },
          },
        ]);
      }
      const sessions = [...(store as unknown as { tables: NamespaceTables }).tables.listSessions()];
      assert.equal(sessions.length, MAX_SESSIONS + 1 - MAX_SESSIONS / 10);
      assert.ok(!sessions.some((session) => session.clientId === "c0"));
      await store.close();
    });
  }
});

/** Random command sequences over a small name space, so that collisions are common. */
const names = ["/a", "/b", "/a/c", "/b/c", "/a/c/d", "/e"];
const arbitraryCommand: fc.Arbitrary<MetadataCommand["command"]> = fc.oneof(
  fc
    .record({ path: fc.constantFrom(...names), exclusive: fc.boolean(), truncate: fc.boolean() })
    .map((r) => create(r.path, r)),
  fc
    .record({ path: fc.constantFrom(...names), recursive: fc.boolean() })
    .map((r) => mkdir(r.path, r.recursive)),
  fc.constantFrom(...names).map(rmdir),
  fc.constantFrom(...names).map(unlink),
  fc.tuple(fc.constantFrom(...names), fc.constantFrom(...names)).map(([a, b]) => rename(a, b)),
  fc.tuple(fc.constantFrom(...names), fc.constantFrom(...names)).map(([a, b]) => link(a, b)),
  fc
    .tuple(fc.constantFrom(...names), fc.constantFrom("/a", "c/d", "", "x".repeat(4096)))
    .map(([path, target]) => symlink(path, target)),
  fc
    .tuple(
      fc.constantFrom(...names),
      fc.constantFrom(
        FileType.FILE_TYPE_FIFO,
        FileType.FILE_TYPE_CHAR_DEVICE,
        FileType.FILE_TYPE_REGULAR,
      ),
    )
    .map(([path, type]) => mknod(path, type, 7)),
  fc.tuple(fc.constantFrom(...names), fc.nat(3 * CHUNK)).map(([p, s]) => truncate(p, s)),
  fc
    .tuple(
      fc.integer({ min: 2, max: 8 }),
      fc.nat(3),
      fc.nat(2),
      fc.nat(1000),
      fc.integer({ min: 1, max: CHUNK }),
    )
    .map(([inode, slot, version, id, length]) =>
      commit(inode, slot, version, chunkId(id + 1), length),
    ),
  fc
    .tuple(
      fc.integer({ min: 2, max: 8 }),
      fc.nat(3),
      fc.nat(CHUNK),
      fc.string({ minLength: 0, maxLength: 64 }),
    )
    .map(([inode, slot, offset, data]) => writeInline(inode, slot, offset, data)),
  fc
    .tuple(fc.constantFrom(...names), fc.constantFrom(0o755, 0o700, 0o1777, 0o2775))
    .map(([path, mode]): MetadataCommand["command"] => ({
      $case: "setAttr",
      value: { path, mode, nowMs: now, xattrs: [] },
    })),
  fc
    .tuple(
      fc.constantFrom(...names),
      fc.constantFrom("user.a", "user.b", "trusted.t", "bad"),
      fc.string({ maxLength: 16 }),
      fc.boolean(),
    )
    .map(([path, name, value, remove]): MetadataCommand["command"] => ({
      $case: "setAttr",
      value: { path, nowMs: now, xattrs: [{ name, value: Buffer.from(value), remove }] },
    })),
  fc
    .tuple(fc.constantFrom("ann", "bo"), fc.integer({ min: 1000, max: 1002 }))
    .map(([name, uid]): MetadataCommand["command"] => ({
      $case: "putUser",
      value: {
        replace: uid === 1002,
        user: {
          name,
          uid,
          gid: 100,
          groups: [200],
          accessKeyId: `K${name}${uid}`,
          secretHash: Buffer.alloc(32, uid % 256),
          salt: Buffer.alloc(16, 1),
          createdMs: now,
        },
      },
    })),
  fc
    .constantFrom("ann", "bo")
    .map((name): MetadataCommand["command"] => ({ $case: "removeUser", value: { name } })),
  fc
    .tuple(fc.constantFrom("d1", "d2", "bad id"), fc.boolean())
    .map(([nodeId, draining]): MetadataCommand["command"] => ({
      $case: "setDraining",
      value: { nodeId, draining },
    })),
);

/** Who sends a command: root (none), the owner of the files root makes, or someone else. */
const arbitraryCaller: fc.Arbitrary<Caller | undefined> = fc.constantFrom(
  undefined,
  { uid: 1000, gid: 100, groups: [] },
  { uid: 1001, gid: 200, groups: [100] },
);

/** Commands, some sent by one of two clients with a sequence from a small range: retries are common. */
const arbitraryEntries = fc
  .array(
    fc.record({
      command: arbitraryCommand,
      caller: arbitraryCaller,
      session: fc.option(
        fc.record({
          clientId: fc.constantFrom("x", "y"),
          sequence: fc.integer({ min: 1, max: 6 }),
          acknowledgedBelow: fc.integer({ min: 0, max: 3 }),
        }),
        { nil: undefined },
      ),
    }),
    { maxLength: 40 },
  )
  .map((commands) => [
    { index: 1, command: { command: configure() } },
    ...commands.map((command, i) => ({
      index: i + 2,
      command: command.session
        ? {
            ...command,
            session: {
              ...command.session,
              acknowledgedBelow: Math.min(
                command.session.acknowledgedBelow,
                command.session.sequence,
              ),
            },
          }
        : { command: command.command, caller: command.caller },
    })),
  ]);

function dump(store: MetadataStore, path = "/"): unknown {
  const inode = store.stat(path);
  if (inode.type !== FileType.FILE_TYPE_DIRECTORY)
    return { inode, slots: store.chunkSlots(inode.id, 0, 100) };
  const children = store.readDir(path, "", 1000).entries;
  return {
    inode,
    children: children.map((e) => [
      e.name,
      dump(store, path === "/" ? `/${e.name}` : `${path}/${e.name}`),
    ]),
  };
}

test("property: memory and lmdb stores agree on every result and state; replay is a no-op", async () => {
  await fc.assert(
    fc.asyncProperty(arbitraryEntries, async (entries) => {
      const memory = new MemoryMetadataStore();
      const lmdb = await lmdbStore();
      // One store applies in one batch, the other one by one: batching must not matter.
      const batched = memory.apply(entries);
      const single = entries.flatMap((entry) => lmdb.apply([entry]));
      assert.deepEqual(single, batched);
      assert.deepEqual(dump(lmdb), dump(memory));
      assert.deepEqual(lmdb.counts(), memory.counts());
      assert.deepEqual(lmdb.drainingNodes(), memory.drainingNodes());
      const before = dump(lmdb);
      assert.equal(lmdb.apply(entries).length, 0);
      assert.deepEqual(dump(lmdb), before);
      await lmdb.close();
    }),
    { numRuns: 60 },
  );
});

test("property: a snapshot restores into another store (of either kind) exactly, replacing what it had", async () => {
  const snapDir = await tempDir("sandstore-ns-snap-");
  await fc.assert(
    fc.asyncProperty(arbitraryEntries, async (entries) => {
      const source = await lmdbStore();
      source.apply(entries);
      const snap = await source.snapshot(snapDir);
      const parts: Buffer[] = [];
      for await (const chunk of snap.chunks) parts.push(Buffer.from(chunk));
      const bytes = Buffer.concat(parts);
      assert.equal(bytes.length, snap.size);
      const target = new MemoryMetadataStore();
      run(target, mkdir("/stale-state"));
      // Pieces of 7 bytes: records are cut across pieces.
      await target.restore(snap.index, snap.size, async (offset, length) =>
        bytes.subarray(offset, offset + Math.min(length, 7)),
      );
      assert.equal(target.appliedIndex(), source.appliedIndex());
      assert.deepEqual(dump(target), dump(source));
      assert.deepEqual(target.counts(), source.counts());
      const twin = await lmdbStore();
      await twin.restore(snap.index, snap.size, async (offset, length) =>
        bytes.subarray(offset, offset + length),
      );
      assert.equal(twin.stateHash(), source.stateHash());
      // All go on identically, retries of the sessions' commands included.
      const next = [...entries.slice(-3), { command: { command: mkdir("/after", true) } }].map(
        (entry, i) => ({ index: source.appliedIndex() + 1 + i, command: entry.command }),
      );
      const expected = source.apply(next);
      assert.deepEqual(target.apply(next), expected);
      assert.deepEqual(twin.apply(next), expected);
      assert.deepEqual(dump(target), dump(source));
      assert.equal(twin.stateHash(), source.stateHash());
      await source.close();
      await twin.close();
    }),
    { numRuns: 30 },
  );
});
