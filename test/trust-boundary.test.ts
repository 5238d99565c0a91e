/**
 * The trust boundary against real node processes (issue 14, LESSONS "From Sandstore's own first
 * round"): on every Raft topology, a caller without the cluster's credentials, or with wrong
 * ones, is refused by every internal service; a burst of forged Raft messages, an append that
 * claims to come from the leader among them, changes no node's state and no leadership; and a
 * node may speak only as itself, by token or by certificate.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { waitFor } from "../src/common/wait-for.ts";
import { AdminServiceClient } from "../src/gen/sandstore/v1/admin.ts";
import {
  ChunkServiceClient,
  type ChunkServiceWriteChunkRequest,
} from "../src/gen/sandstore/v1/chunk_service.ts";
import { RaftServiceClient, type SendRequest } from "../src/gen/sandstore/v1/raft.ts";
import type { Message } from "../src/raft/node.ts";
import { operatorPeerAuth } from "../src/topologies/peer-credentials.ts";
import { makeCertificates } from "../src/transport/certificate-authority.ts";
import { AdminClient, type AdminNodeState } from "../src/transport/grpc-admin-service.ts";
import { toWire } from "../src/transport/grpc-raft-transport.ts";
import {
  NODE_ID_HEADER,
  type PeerAuth,
  ROLE_HEADER,
  TOKEN_HEADER,
} from "../src/transport/peer-auth.ts";
import { loadTlsDirectory, tlsPeerAuth } from "../src/transport/tls-peer-auth.ts";
import { Cluster } from "./helpers/hyperconverged-cluster.ts";
import { KvProcessCluster } from "./helpers/kv-cluster.ts";
import { removeDataDir, startNode } from "./helpers/node-process.ts";

/** How a forger calls: which metadata it sends and over which channel. */
interface Forger {
  readonly name: string;
  /**
   * How its calls are refused: PERMISSION_DENIED by a service (the default), or a broken
   * connection (UNAVAILABLE or INTERNAL, as the call stood) when the TLS handshake fails.
   */
  readonly refusedAtHandshake?: boolean;
  readonly credentials: grpc.ChannelCredentials;
  readonly metadata: () => grpc.Metadata;
}

function metadataOf(entries: Record<string, string>): () => grpc.Metadata {
  return () => {
    const metadata = new grpc.Metadata();
    for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
    return metadata;
  };
}

/** The forged burst: an append from the leader with entries no leader proposed, and more. */
function forgedMessages(leader: AdminNodeState, to: string): Message[] {
  const entries = Array.from({ length: 3 }, (_, i) => ({
    term: leader.term,
    index: leader.commitIndex + 1 + i,
    type: 0 as const,
    data: randomBytes(64),
  }));
  return [
    {
      type: "append",
      from: leader.id,
      to,
      term: leader.term,
      prevIndex: leader.commitIndex,
      prevTerm: leader.term,
      entries,
      commit: leader.commitIndex + 3,
    },
    { type: "heartbeat", from: leader.id, to, term: leader.term + 5, commit: 0, context: "" },
    {
      type: "vote",
      from: leader.id,
      to,
      term: leader.term + 10,
      lastIndex: 1e9,
      lastTerm: leader.term + 9,
      transfer: true,
    },
    { type: "timeoutNow", from: leader.id, to, term: leader.term },
  ];
}

/** Sends `messages` on one Raft stream to `address`; resolves with the call's gRPC status code. */
function sendRaft(address: string, forger: Forger, messages: Message[]): Promise<grpc.status> {
  const client = new RaftServiceClient(address, forger.credentials);
  return new Promise((resolve) => {
    const stream = client.send(forger.metadata(), (error) => {
      client.close();
      resolve(error ? error.code : grpc.status.OK);
    });
    stream.on("error", () => undefined);
    const request: SendRequest = { messages: messages.map(toWire) };
    stream.write(request);
    stream.end();
  });
}

/** Asks `address`'s chunk service to store a chunk; resolves with the call's status code. */
function writeChunk(address: string, forger: Forger): Promise<grpc.status> {
  const client = new ChunkServiceClient(address, forger.credentials);
  return new Promise((resolve) => {
    const stream = client.writeChunk(forger.metadata(), (error) => {
      client.close();
      resolve(error ? error.code : grpc.status.OK);
    });
    stream.on("error", () => undefined);
    const header: ChunkServiceWriteChunkRequest = {
      part: { $case: "chunkId", value: "f".repeat(32) },
    };
    stream.write(header);
    stream.write({ part: { $case: "data", value: randomBytes(100) } });
    stream.end();
  });
}

/** Asserts that `call` was refused the way `forger` is. */
async function assertRefused(call: Promise<grpc.status>, forger: Forger, what: string) {
  const status = await call;
  const expected = forger.refusedAtHandshake
    ? [grpc.status.UNAVAILABLE, grpc.status.INTERNAL]
    : [grpc.status.PERMISSION_DENIED];
  assert.ok(expected.includes(status), `${what}: status ${status}, expected one of ${expected}`);
}

/** Every node's state, through admin clients with the operator's credentials. */
async function states(admins: AdminClient[]): Promise<AdminNodeState[]> {
  return Promise.all(admins.map((admin) => admin.nodeState()));
}

/** What must not move: each node's term, leader, applied index and state hash. */
const fingerprint = (all: AdminNodeState[]) =>
  all.map((s) => ({
    id: s.id,
    term: s.term,
    leaderId: s.leaderId,
    appliedIndex: s.appliedIndex,
    stateHash: s.stateHash,
  }));

/**
 * The scenario shared by every topology: strangers are refused by every internal service and
 * their messages change nothing; a holder of valid credentials speaking as another node has
 * its messages dropped and counted.
 */
async function proveTheBoundary(o: {
  internalAddresses: string[];
  operator: PeerAuth;
  strangers: Forger[];
  /** A caller with node `id`'s valid credentials. */
  impostor: (id: string) => Forger;
  hasChunkService: boolean;
}): Promise<void> {
  const admins = o.internalAddresses.map((address) => new AdminClient(address, o.operator));
  try {
    let before: AdminNodeState[] = [];
    await waitFor(
      async () => {
        before = await states(admins);
        const leaders = new Set(before.map((s) => s.leaderId));
        const [only] = [...leaders];
        return (
          leaders.size === 1 &&
          only !== "" &&
          before.every((s) => s.appliedIndex === before[0]?.appliedIndex)
        );
      },
      "every node to agree on a leader and apply the same index",
      20_000,
    );
    const leader = before.find((s) => s.role === "leader");
    assert.ok(leader, "a leader");
    const targets = before.filter((s) => s.id !== leader.id);

    for (const stranger of o.strangers) {
      for (const target of targets) {
        const address = o.internalAddresses[before.indexOf(target)] ?? "";
        await assertRefused(
          sendRaft(address, stranger, forgedMessages(leader, target.id)),
          stranger,
          `Raft stream from ${stranger.name} to ${target.id}`,
        );
        if (o.hasChunkService)
          await assertRefused(
            writeChunk(address, stranger),
            stranger,
            `chunk write from ${stranger.name}`,
          );
        await assertRefused(
          removeMember(address, stranger),
          stranger,
          `membership change from ${stranger.name}`,
        );
      }
    }

    // A follower with valid credentials that claims to be the leader, to the other follower:
    // its stream is accepted, every message in it dropped and counted.
    const [impostor, impostorTarget] = targets;
    assert.ok(impostor && impostorTarget, "two followers");
    const impostorAddress = o.internalAddresses[before.indexOf(impostorTarget)] ?? "";
    const forgedBefore = impostorTarget.forgedMessagesTotal;
    const burst = forgedMessages(leader, impostorTarget.id);
    assert.equal(await sendRaft(impostorAddress, o.impostor(impostor.id), burst), grpc.status.OK);
    await waitFor(
      async () =>
        (await admins[before.indexOf(impostorTarget)]?.nodeState())?.forgedMessagesTotal ===
        forgedBefore + burst.length,
      "the impostor's messages to be counted as forged",
      10_000,
    );

    const after = await states(admins);
    assert.deepEqual(fingerprint(after), fingerprint(before), "no state and no leadership moved");
    for (const [i, state] of after.entries()) {
      const target = before[i];
      if (!target || target.id === leader.id) continue;
      assert.ok(
        state.refusedCallsTotal >= target.refusedCallsTotal + o.strangers.length,
        `${state.id} counted the refused calls`,
      );
    }
  } finally {
    for (const admin of admins) admin.close();
  }
}

/** Asks `address`'s admin service to remove n1; resolves with the call's status code. */
function removeMember(address: string, forger: Forger): Promise<grpc.status> {
  const client = new AdminServiceClient(address, forger.credentials);
  return new Promise((resolve) =>
    client.changeMembership(
      { change: "remove", nodeId: "n1", address: "" },
      forger.metadata(),
      { deadline: Date.now() + 5000 },
      (error) => {
        client.close();
        resolve(error ? error.code : grpc.status.OK);
      },
    ),
  );
}

const insecure = grpc.credentials.createInsecure();

function tokenForgers(token: string): { strangers: Forger[]; impostor: (id: string) => Forger } {
  return {
    strangers: [
      { name: "a caller with no token", credentials: insecure, metadata: metadataOf({}) },
      {
        name: "a caller with a wrong token",
        credentials: insecure,
        metadata: metadataOf({
          [TOKEN_HEADER]: randomBytes(16).toString("hex"),
          [NODE_ID_HEADER]: "n1",
          [ROLE_HEADER]: "node",
        }),
      },
    ],
    impostor: (id) => ({
      name: `${id} speaking as the leader`,
      credentials: insecure,
      metadata: metadataOf({
        [TOKEN_HEADER]: token,
        [NODE_ID_HEADER]: id,
        [ROLE_HEADER]: "node",
      }),
    }),
  };
}

describe("the trust boundary", () => {
  test("hyperconverged, cluster token: strangers are refused and change nothing; a node speaks only as itself", async () => {
    const cluster = new Cluster();
    await cluster.start();
    try {
      await cluster.leader();
      await proveTheBoundary({
        internalAddresses: cluster.addresses,
        operator: operatorPeerAuth({ clusterToken: cluster.token }),
        ...tokenForgers(cluster.token),
        hasChunkService: true,
      });
    } finally {
      await cluster.close();
    }
  });

  test("kv, cluster token: strangers are refused and change nothing; a node speaks only as itself", async () => {
    const cluster = new KvProcessCluster(3);
    await cluster.start();
    try {
      await cluster.leader();
      await proveTheBoundary({
        internalAddresses: cluster.raftPorts.map((port) => `127.0.0.1:${port}`),
        operator: operatorPeerAuth({ clusterToken: cluster.token }),
        ...tokenForgers(cluster.token),
        hasChunkService: false,
      });
    } finally {
      await cluster.close();
    }
  });

  test("hyperconverged, mutual TLS: no certificate, or one from another CA, is refused; n3's certificate cannot speak as the leader", async () => {
    const cluster = new Cluster({ tls: true });
    const foreign = await mkdtemp(join(tmpdir(), "sandstore-foreign-ca-"));
    await cluster.start();
    try {
      await cluster.leader();
      // Certificates from another CA, with the same node names.
      await makeCertificates({ dir: foreign, nodes: ["n1"] });
      const ca = loadTlsDirectory(cluster.tlsDir("n1")).ca;
      const other = loadTlsDirectory(join(foreign, "n1"));
      await proveTheBoundary({
        internalAddresses: cluster.addresses,
        operator: operatorPeerAuth({ tlsDir: cluster.tlsDir("operator") }),
        strangers: [
          {
            name: "a TLS caller with no certificate",
            credentials: grpc.credentials.createSsl(ca, null, null, {
              checkServerIdentity: () => undefined,
            }),
            metadata: metadataOf({}),
          },
          {
            name: "a caller whose certificate another CA signed",
            // OpenSSL fails such a certificate's signature during the handshake.
            refusedAtHandshake: true,
            credentials: grpc.credentials.createSsl(ca, other.key, other.cert, {
              checkServerIdentity: () => undefined,
            }),
            metadata: metadataOf({}),
          },
        ],
        impostor: (id) => ({
          name: `${id}'s certificate speaking as the leader`,
          credentials: tlsPeerAuth(loadTlsDirectory(cluster.tlsDir(id))).channel().credentials,
          metadata: () => new grpc.Metadata(),
        }),
        hasChunkService: true,
      });
      assert.throws(
        () => loadTlsDirectory(cluster.tlsDir("n3"), "n1"),
        /names n3, not this node \(n1\)/,
        "a node refuses to start with a certificate naming another id",
      );
    } finally {
      await cluster.close();
      await rm(foreign, { recursive: true, force: true });
    }
  });

  test("single, cluster token: its one internal service (admin, for users) refuses strangers", async () => {
    const token = randomBytes(16).toString("hex");
    const node = await startNode({ args: ["--cluster-token", token] });
    try {
      for (const stranger of tokenForgers(token).strangers)
        await assertRefused(removeMember(node.address, stranger), stranger, stranger.name);
      const admin = new AdminClient(node.address, operatorPeerAuth({ clusterToken: token }));
      try {
        assert.equal((await admin.nodeState()).role, "leader", "the operator is let in");
        assert.deepEqual(await admin.listUsers(), []);
      } finally {
        admin.close();
      }
    } finally {
      await node.stop();
      await removeDataDir(node);
    }
  });
});
