import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DiskSpace, RESERVE_FILE } from "./disk-space.ts";
import type { SandstoreError } from "./errors.ts";

const MiB = 1024 * 1024;

test("writes are refused before the headroom is touched; the reserve is released to start and delete, then made again", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sandstore-space-"));
  try {
    // A pretend file system: `used` grows by what the test writes, and by the reserve file.
    let used = 0;
    const total = 100 * MiB;
    const reserveFile = join(dir, RESERVE_FILE);
    const statfs = () => ({
      freeBytes: total - used - (existsSync(reserveFile) ? 8 * MiB : 0),
      totalBytes: total,
    });
    const events: string[] = [];
    const space = new DiskSpace({
      dir,
      reserveBytes: 8 * MiB,
      headroomBytes: 4 * MiB,
      statfs,
      onReserve: (event) => events.push(event),
    });
    await space.start();
    assert.ok(existsSync(reserveFile), "a reserve is made at start when there is room");
    assert.equal(space.status().reservedBytes, 8 * MiB);

    used = 85 * MiB; // 7 MiB free beside the reserve
    space.admitWrite(2 * MiB, "/a");
    assert.equal(space.status().alarm, false);
    assert.throws(
      () => space.admitWrite(4 * MiB, "/b"),
      (error: SandstoreError) =>
        error.code === "ENOSPC" && error.path === "/b" && /remove files/.test(error.message),
    );
    assert.equal(space.status().alarm, true, "a refusal raises the alarm");
    assert.equal(space.refusedTotal, 1);

    used = 90 * MiB; // 2 MiB free: a delete releases the reserve first
    await space.beforeDelete();
    assert.ok(!existsSync(reserveFile));
    assert.equal(space.status().freeBytes, 10 * MiB);

    used = 70 * MiB;
    await space.replenish();
    assert.ok(existsSync(reserveFile), "made again once there is room");
    space.admitWrite(MiB, "/c");
    assert.equal(space.status().alarm, false, "the alarm clears by itself");

    // A node that starts on a disk too full to open its stores releases the reserve first.
    used = 89 * MiB;
    const again = new DiskSpace({ dir, reserveBytes: 8 * MiB, headroomBytes: 4 * MiB, statfs });
    await again.start();
    assert.ok(!existsSync(reserveFile));
    assert.deepEqual(events, ["made", "released", "made"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("bad sizes are refused at construction", () => {
  assert.throws(() => new DiskSpace({ dir: "/", reserveBytes: -1, headroomBytes: 0 }), RangeError);
  assert.throws(() => new DiskSpace({ dir: "/", reserveBytes: 0, headroomBytes: 0.5 }), RangeError);
});
