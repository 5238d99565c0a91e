import assert from "node:assert/strict";
import { after, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { memoryPlanes } from "../../test/helpers/memory-planes.ts";
import { code } from "../../test/helpers/outcome.ts";
import { temporaryDirectories } from "../../test/helpers/temp-dirs.ts";
import { NotLeaderError, SandstoreError } from "../common/errors.ts";
import type { ControlPlane } from "../control/control-plane.ts";
import { TwoPhaseCoordinator } from "../control/two-phase-coordinator.ts";
import { ReplicatedDataPlane } from "../data/replicated-data-plane.ts";
import {
  addMetadataService,
  INVENTORY_PAGE_CHUNKS,
  MetadataReportSender,
  type MetadataServiceOptions,
  RemoteControlPlane,
} from "./grpc-metadata-service.ts";
import { tokenPeerAuth } from "./token-peer-auth.ts";

const TOKEN = "0123456789abcdef0123";
const CHUNK = 4096;
const tempDir = temporaryDirectories("sandstore-meta-svc-");
const servers: grpc.Server[] = [];
after(() => {
  for (const server of servers) server.forceShutdown();
});

async function serve(
  control: ControlPlane,
  token = TOKEN,
  options: MetadataServiceOptions = {},
): Promise<string> {
  const server = new grpc.Server();
  addMetadataService(
    server,
    control,
    tokenPeerAuth({ token, selfId: "m1", role: "node" }),
    options,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  servers.push(server);
  return `127.0.0.1:${port}`;
}

const remoteAt = (address: string, token = TOKEN) =>
  new RemoteControlPlane({
    addresses: [address],
    auth: tokenPeerAuth({ token, selfId: "d1", role: "node" }),
  });

/** The same namespace script, run on one control plane; its outcomes, for comparison. */
async function script(control: ControlPlane): Promise<unknown[]> {
  const out: unknown[] = [];
  const file = { mode: 0o644, exclusive: true, truncate: false };
  out.push(await control.settings());
  out.push((await control.mkdir("/d", 0o755, false)).mode);
  const created = await control.create("/d/f", file);
  out.push(created.type, created.size);
  out.push(await code(control.create("/d/f", file)));
  out.push(await code(control.stat("/nope")));
  out.push(await code(control.rmdir("/d")));
  out.push((await control.setAttr("/d/f", { mode: 0o600, size: 10 })).size);
  const page = await control.readDir("/d", "", 10);
  out.push(
    page.done,
    page.entries.map((entry) => entry.name),
  );
  const inline = await control.writeInline(created.id, 0, 0, Buffer.from("hello"), "/d/f");
  out.push(inline?.size);
  const plan = await control.resolveRead(created.id, 0, 100, "/d/f");
  out.push(
    plan.chunkSize,
    plan.slots.map((slot) => slot.inlineData?.toString()),
  );
  const intent = await control.prepareWrite(created.id, 1, "/d/f");
  out.push(
    intent.targets.map((t) => t.id),
    intent.writeQuorum,
    intent.current,
  );
  const committed = await control.commitWrite(intent, {
    length: 3,
    checksum: 7,
    replicas: ["n1"],
    minFileSize: CHUNK + 3,
  });
  out.push(committed.committed && committed.inode.size);
  const stale = await control.commitWrite(intent, {
    length: 3,
    checksum: 7,
    replicas: ["n1"],
    minFileSize: CHUNK + 3,
  });
  out.push(stale.committed, "a second commit of one intent loses its race");
  out.push(await control.chunkReplicas(intent.chunkId), await control.chunkReplicas("x"));
  const scanned = await control.scanChunkSlots(undefined, 10);
  out.push(scanned.map(({ inodeId, slot }) => [inodeId === created.id, slot.index]));
  out.push(await control.recordReplicas(created.id, 1, intent.chunkId, ["n1", "n2"]));
  out.push(await control.recordReplicas(created.id, 1, "other", ["n1"]));
  const user = await control.addUser({ name: "ann", uid: 1000, gid: 100, groups: [] });
  out.push(user.name, user.secret.length > 0);
  out.push((await control.userByAccessKey(user.accessKeyId))?.uid);
  out.push((await control.listUsers()).map((u) => u.name));
  const asAnn = { uid: 1000, gid: 100, groups: [] };
  out.push(await code(control.stat("/d/f", { caller: asAnn, access: 2 })));
  await control.removeUser("ann");
  out.push(await control.isLeader(), await control.isCurrentLeader());
  out.push((await control.status()).role, (await control.stateHash()).length);
  await control.rename("/d/f", "/g");
  await control.unlink("/g");
  out.push(await code(control.stat("/g")));
  return out;
}

test("the remote control plane answers exactly as the in-process one, errors typed alike", async () => {
  const local = await memoryPlanes({ dir: await tempDir(), nodes: ["n1"], chunkSize: CHUNK });
  const served = await memoryPlanes({ dir: await tempDir(), nodes: ["n1"], chunkSize: CHUNK });
  const remote = remoteAt(await serve(served.control));
  try {
    const expected = await script(local.control);
    const actual = await script(remote);
    // Timestamps and random ids differ between the two runs; the outcomes do not.
    assert.deepEqual(actual, expected);
    assert.equal(await local.control.stateHash().then((h) => h.length), 64);
  } finally {
    remote.close();
    await local.stop();
    await served.stop();
  }
});

test("a data plane over the remote control plane writes and reads chunks; its errors are typed", async () => {
  const planes = await memoryPlanes({ dir: await tempDir(), nodes: ["n1"], chunkSize: CHUNK });
  const remote = remoteAt(await serve(planes.control));
  try {
    const data = new ReplicatedDataPlane(
      remote,
      new TwoPhaseCoordinator(remote, planes.replicas),
      planes.replicas,
    );
    const file = await remote.create("/f", { mode: 0o644, exclusive: true, truncate: false });
    const bytes = Buffer.alloc(CHUNK, 9);
    await data.writeRange(file.id, 0, 0, bytes, "/f");
    const pieces: Buffer[] = [];
    for await (const piece of data.readRange(file.id, 0, CHUNK, "/f")) pieces.push(piece);
    assert.deepEqual(Buffer.concat(pieces), bytes);
    assert.equal(await code(data.writeRange(999, 0, 0, bytes, "/gone")), "ENOENT");
  } finally {
    remote.close();
    await planes.stop();
  }
});

test("the metadata service answers only the cluster's nodes, and a redirect is followed", async () => {
  const planes = await memoryPlanes({ dir: await tempDir(), nodes: ["n1"], chunkSize: CHUNK });
  const address = await serve(planes.control);
  const stranger = remoteAt(address, "not-the-token-at-all-x");
  await assert.rejects(
    stranger.stat("/"),
    (error: unknown) => error instanceof SandstoreError && error.code === "EACCES",
  );
  stranger.close();
  // A follower's answer names the leader: the remote plane goes there and asks again.
  let asked = 0;
  const redirecting = new Proxy(planes.control, {
    get: (target, key, receiver) =>
      key === "stat"
        ? async () => {
            asked++;
            throw new NotLeaderError("m1", address);
          }
        : Reflect.get(target, key, receiver),
  });
  const follower = await serve(redirecting);
  const remote = remoteAt(follower);
  assert.equal((await remote.stat("/")).id, 1);
  assert.equal(asked, 1);
  remote.close();
  await planes.stop();
});

test("a data server's chunk inventory arrives whole, in pages, as its own; strangers are refused", async () => {
  const planes = await memoryPlanes({ dir: await tempDir(), nodes: ["n1"], chunkSize: 4096 });
  const received: Array<{ id: string; count: number; last: string | undefined }> = [];
  const address = await serve(planes.control, TOKEN, {
    onChunkInventory: (id, chunks) =>
      received.push({ id, count: chunks.length, last: chunks.at(-1)?.id }),
  });
  const chunks = Array.from({ length: 2 * INVENTORY_PAGE_CHUNKS + 7 }, (_, i) => ({
    id: i.toString(16).padStart(32, "0"),
    size: 100,
    checksum: 0,
    writtenAtMs: i,
  }));
  const d1 = new MetadataReportSender(tokenPeerAuth({ token: TOKEN, selfId: "d1", role: "node" }));
  await d1.sendInventory(address, chunks, 10_000);
  assert.deepEqual(received, [{ id: "d1", count: chunks.length, last: chunks.at(-1)?.id }]);
  await d1.sendInventory(address, [], 10_000);
  assert.deepEqual(received.at(-1), { id: "d1", count: 0, last: undefined }, "an empty store");
  const stranger = new MetadataReportSender(
    tokenPeerAuth({ token: "guess-guess-guess-guess", selfId: "d2", role: "node" }),
  );
  assert.equal(await code(stranger.sendInventory(address, chunks, 10_000)), "EACCES");
  const fixed = await serve(planes.control);
  assert.equal(
    await code(d1.sendInventory(fixed, chunks, 10_000)),
    "ENOTSUP",
    "a topology whose members are fixed takes no inventories",
  );
  assert.equal(received.length, 2, "nothing else was taken");
  d1.close();
  stranger.close();
  await planes.stop();
});
