/**
 * The permission matrix, in the style of pjdfstest: every operation, tried by the owner, a
 * member of the file's group, another user and root, against the POSIX answer. Each row
 * starts from the same tree, made by root:
 *
 *   /dir         0755 owner:staff   /dir/file  0640 owner:staff   /dir/empty  0755 owner:staff
 *   /private     0700 owner:staff   /private/f 0644 owner:staff
 *   /sticky      1777 root:root     /sticky/mine 0644 owner:staff (an entry the owner made)
 *   /open        0777 root:root     /open/d    0755 owner:staff (a directory to move)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SandstoreError } from "../common/errors.ts";
import type { Caller, MetadataCommand } from "../gen/sandstore/v1/metadata.ts";
import { MemoryMetadataStore } from "./memory-metadata-store.ts";
import type { MetadataStore } from "./metadata-store.ts";
import { R_OK, W_OK } from "./permissions.ts";

const OWNER: Caller = { uid: 1000, gid: 100, groups: [300] };
const GROUP: Caller = { uid: 1001, gid: 100, groups: [] };
const OTHER: Caller = { uid: 1002, gid: 200, groups: [] };
const ROOT: Caller = { uid: 0, gid: 0, groups: [] };
const WHO = { owner: OWNER, group: GROUP, other: OTHER, root: ROOT } as const;
type Who = keyof typeof WHO;
const now = 5_000;

type Command = NonNullable<MetadataCommand["command"]>;

function apply(store: MetadataStore, command: Command, caller?: Caller): string {
  const [result] = store.apply([
    { index: store.appliedIndex() + 1, command: { command, caller, session: undefined } },
  ]);
  assert.ok(result);
  return result.errno || "ok";
}

function attempt(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (error) {
    if (error instanceof SandstoreError) return error.code;
    throw error;
  }
}

const create = (path: string, mode: number, extra: { truncate?: boolean; access?: number } = {}) =>
  ({
    $case: "create",
    value: {
      path,
      mode,
      uid: 0,
      gid: 0,
      exclusive: false,
      truncate: extra.truncate ?? false,
      access: extra.access ?? 0,
      nowMs: now,
    },
  }) satisfies Command;
const mkdir = (path: string, mode: number) =>
  ({
    $case: "mkdir",
    value: { path, mode, uid: 0, gid: 0, recursive: false, nowMs: now },
  }) satisfies Command;
const setAttr = (path: string, changes: Record<string, number>) =>
  ({ $case: "setAttr", value: { path, nowMs: now, xattrs: [], ...changes } }) satisfies Command;

/** The tree every row starts from (see the top of the file). */
function tree(): MetadataStore {
  const store = new MemoryMetadataStore();
  apply(store, {
    $case: "configureCluster",
    value: { chunkSize: 4096, replicationFactor: 1, writeQuorum: 1 },
  });
  const owned = (path: string) => apply(store, setAttr(path, { uid: 1000, gid: 100 }));
  for (const [path, mode] of [
    ["/dir", 0o755],
    ["/dir/empty", 0o755],
    ["/private", 0o700],
    ["/sticky", 0o1777],
    ["/open", 0o777],
    ["/open/d", 0o755],
  ] as const)
    assert.equal(apply(store, mkdir(path, mode)), "ok");
  for (const [path, mode] of [
    ["/dir/file", 0o640],
    ["/private/f", 0o644],
    ["/sticky/mine", 0o644],
  ] as const)
    assert.equal(apply(store, create(path, mode)), "ok");
  for (const path of ["/dir", "/dir/empty", "/dir/file", "/private", "/private/f"]) owned(path);
  for (const path of ["/sticky/mine", "/open/d"]) owned(path);
  return store;
}

const inodeOf = (store: MetadataStore, path: string) => store.stat(path).id;

/** One row: what is tried, and the answer each caller gets. */
interface Row {
  readonly what: string;
  readonly run: (store: MetadataStore, caller: Caller) => string;
  readonly expect: Record<Who, string>;
}

const onlyOwnerAndRoot = (refusal: string) => ({
  owner: "ok",
  group: refusal,
  other: refusal,
  root: "ok",
});

const ROWS: Row[] = [
  {
    what: "stat through a 0700 directory (search on every directory)",
    run: (s, c) => attempt(() => s.stat("/private/f", c)),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "create in a 0755 directory (write and search on the parent)",
    run: (s, c) => apply(s, create("/dir/new", 0o644), c),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "mkdir in a 0755 directory",
    run: (s, c) => apply(s, mkdir("/dir/sub", 0o755), c),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "unlink from a 0755 directory",
    run: (s, c) => apply(s, { $case: "unlink", value: { path: "/dir/file", nowMs: now } }, c),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "rmdir from a 0755 directory",
    run: (s, c) => apply(s, { $case: "rmdir", value: { path: "/dir/empty", nowMs: now } }, c),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "rename inside a 0755 directory",
    run: (s, c) =>
      apply(s, { $case: "rename", value: { from: "/dir/file", to: "/dir/moved", nowMs: now } }, c),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "rename out of a 0755 directory into a 0777 one",
    run: (s, c) =>
      apply(s, { $case: "rename", value: { from: "/dir/file", to: "/open/moved", nowMs: now } }, c),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "move a 0755 directory to another parent (its .. is rewritten: write on it)",
    run: (s, c) =>
      apply(s, { $case: "rename", value: { from: "/open/d", to: "/sticky/d", nowMs: now } }, c),
    // The sticky source parent /open has no sticky bit; /sticky lets anyone add entries.
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "open a 0640 file for reading",
    run: (s, c) => attempt(() => s.stat("/dir/file", c, R_OK)),
    expect: { owner: "ok", group: "ok", other: "EACCES", root: "ok" },
  },
  {
    what: "open a 0640 file for writing",
    run: (s, c) => attempt(() => s.stat("/dir/file", c, W_OK)),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "open an existing 0640 file with O_CREAT|O_RDWR",
    run: (s, c) => apply(s, create("/dir/file", 0o644, { access: R_OK | W_OK }), c),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "open an existing 0640 file with O_CREAT|O_TRUNC",
    run: (s, c) => apply(s, create("/dir/file", 0o644, { truncate: true, access: W_OK }), c),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "truncate a 0640 file",
    run: (s, c) => apply(s, setAttr("/dir/file", { size: 0 }), c),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "write into a 0640 file (an inline write by inode)",
    run: (s, c) =>
      apply(
        s,
        {
          $case: "writeInline",
          value: {
            inodeId: inodeOf(s, "/dir/file"),
            slotIndex: 0,
            offset: 0,
            data: Buffer.from("x"),
            nowMs: now,
          },
        },
        c,
      ),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "list a 0700 directory",
    run: (s, c) => attempt(() => s.readDir("/private", "", 10, c)),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "chmod",
    run: (s, c) => apply(s, setAttr("/dir/file", { mode: 0o600 }), c),
    expect: onlyOwnerAndRoot("EPERM"),
  },
  {
    what: "utimes",
    run: (s, c) => apply(s, setAttr("/dir/file", { atimeMs: 1, mtimeMs: 2 }), c),
    expect: onlyOwnerAndRoot("EPERM"),
  },
  {
    what: "chown to another user",
    run: (s, c) => apply(s, setAttr("/dir/file", { uid: 1001 }), c),
    expect: { owner: "EPERM", group: "EPERM", other: "EPERM", root: "ok" },
  },
  {
    what: "chgrp to a group the owner belongs to",
    run: (s, c) => apply(s, setAttr("/dir/file", { gid: 300 }), c),
    expect: onlyOwnerAndRoot("EPERM"),
  },
  {
    what: "unlink another's entry from a sticky 1777 directory",
    run: (s, c) => apply(s, { $case: "unlink", value: { path: "/sticky/mine", nowMs: now } }, c),
    expect: onlyOwnerAndRoot("EACCES"),
  },
  {
    what: "create in a sticky 1777 directory (anyone may add)",
    run: (s, c) => apply(s, create(`/sticky/new-${c.uid}`, 0o644), c),
    expect: { owner: "ok", group: "ok", other: "ok", root: "ok" },
  },
  {
    what: "add a user",
    run: (s, c) =>
      apply(
        s,
        {
          $case: "putUser",
          value: {
            replace: false,
            user: {
              name: `u${c.uid}`,
              uid: 5000 + c.uid,
              gid: 5000,
              groups: [],
              accessKeyId: `K${c.uid}`,
              secretHash: Buffer.alloc(32, 1),
              salt: Buffer.alloc(16, 2),
              createdMs: now,
            },
          },
        },
        c,
      ),
    expect: { owner: "EPERM", group: "EPERM", other: "EPERM", root: "ok" },
  },
];

test("the permission matrix: each operation for owner, group, other and root", () => {
  const failures: string[] = [];
  for (const row of ROWS) {
    for (const who of Object.keys(WHO) as Who[]) {
      const got = row.run(tree(), WHO[who]);
      if (got !== row.expect[who])
        failures.push(`${row.what}, as ${who}: ${got}, expected ${row.expect[who]}`);
    }
  }
  assert.deepEqual(failures, []);
});

test("new entries belong to their maker; a set-group-id directory hands down its group", () => {
  const store = tree();
  assert.equal(apply(store, setAttr("/open", { mode: 0o2777, gid: 400 })), "ok");
  assert.equal(apply(store, create("/open/f", 0o644), OTHER), "ok");
  assert.equal(apply(store, mkdir("/open/sub", 0o755), OTHER), "ok");
  const file = store.stat("/open/f");
  const sub = store.stat("/open/sub");
  assert.deepEqual([file.uid, file.gid], [OTHER.uid, 400]);
  assert.deepEqual([sub.uid, sub.gid, sub.mode & 0o2000], [OTHER.uid, 400, 0o2000]);
  assert.equal(apply(store, create("/dir/root-made", 0o600)), "ok");
  assert.deepEqual([store.stat("/dir/root-made").uid, store.stat("/dir/root-made").gid], [0, 0]);
  // A chown by the owner clears set-user-id and set-group-id.
  assert.equal(apply(store, setAttr("/dir/file", { mode: 0o6750 }), OWNER), "ok");
  assert.equal(apply(store, setAttr("/dir/file", { gid: 300 }), OWNER), "ok");
  assert.equal(store.stat("/dir/file").mode, 0o750);
});
