import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import type { SandstoreError } from "../common/errors.ts";
import { LmdbMetadataStore, type LmdbMetadataStoreOptions } from "./lmdb-metadata-store.ts";

const tempDir = temporaryDirectories("sandstore-lmdb-");

function mkdirCommand(store: LmdbMetadataStore, path: string) {
  const [result] = store.apply([
    {
      index: store.appliedIndex() + 1,
      command: {
        command: {
          $case: "mkdir",
          value: { path, mode: 0o755, uid: 0, gid: 0, recursive: false, nowMs: 1 },
        },
      },
    },
  ]);
  assert.ok(result && result.errno === "");
}

/** What a crash leaves: the store's files as they are while it is open, and no marker. */
async function copyAsCrashed(from: string): Promise<string> {
  const to = join(await tempDir(), "metadata");
  await mkdir(to);
  for (const name of ["data.mdb", "lock.mdb"]) await copyFile(join(from, name), join(to, name));
  return to;
}

const open = (path: string, durability?: LmdbMetadataStoreOptions["durability"]) =>
  new LmdbMetadataStore({ path, ...(durability ? { durability } : {}) });

test("clean-close durability: a store closed cleanly opens whole, and the marker is used up", async () => {
  const path = join(await tempDir(), "metadata");
  const first = open(path, "clean-close");
  mkdirCommand(first, "/kept");
  assert.equal(await first.flush(), 1);
  await first.close();
  assert.ok(existsSync(join(path, "closed-cleanly")));
  const again = open(path, "clean-close");
  assert.equal(again.discardedAfterCrash, false);
  assert.ok(!existsSync(join(path, "closed-cleanly")), "a crash from now on is not a clean close");
  assert.equal(again.stat("/kept").type, 2);
  assert.equal(again.appliedIndex(), 1);
  await again.close();
});

test("clean-close durability: files a crash left are discarded and the store starts empty", async () => {
  const path = join(await tempDir(), "metadata");
  const live = open(path, "clean-close");
  mkdirCommand(live, "/lost");
  const crashed = await copyAsCrashed(path);
  await live.close();
  const reopened = open(crashed, "clean-close");
  assert.equal(reopened.discardedAfterCrash, true);
  assert.equal(reopened.appliedIndex(), 0, "the owner replays from its log and snapshot");
  assert.throws(
    () => reopened.stat("/lost"),
    (e: SandstoreError) => e.code === "ENOENT",
  );
  await reopened.close();
});

test("each-commit durability (the default) trusts what a crash left: every commit was synced", async () => {
  const path = join(await tempDir(), "metadata");
  const live = open(path);
  mkdirCommand(live, "/kept");
  const crashed = await copyAsCrashed(path);
  await live.close();
  const reopened = open(crashed);
  assert.equal(reopened.discardedAfterCrash, false);
  assert.equal(reopened.stat("/kept").type, 2);
  await reopened.close();
});
