import assert from "node:assert/strict";
import { after, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { fsError, NotLeaderError, SandstoreError } from "../common/errors.ts";
import {
  AdminClient,
  type AdminHandlers,
  addAdminService,
  type MembershipChange,
} from "./grpc-admin-service.ts";
import { tokenPeerAuth } from "./token-peer-auth.ts";

const TOKEN = "0123456789abcdef0123";
const operator = (token: string) => tokenPeerAuth({ token, selfId: "operator", role: "operator" });

const servers: grpc.Server[] = [];
const clients: AdminClient[] = [];
after(() => {
  for (const client of clients) client.close();
  for (const server of servers) server.forceShutdown();
});

async function serve(handlers: AdminHandlers): Promise<string> {
  const server = new grpc.Server();
  addAdminService(server, handlers, tokenPeerAuth({ token: TOKEN, selfId: "n1", role: "node" }));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  servers.push(server);
  return `127.0.0.1:${port}`;
}

function client(address: string, token: string): AdminClient {
  const made = new AdminClient(address, operator(token));
  clients.push(made);
  return made;
}

test("membership changes reach the handler; bad kinds, bad tokens and NotLeader come back typed", async () => {
  const asked: MembershipChange[] = [];
  const address = await serve({
    state: () => ({
      id: "n1",
      role: "leader",
      term: 3,
      leaderId: "n1",
      commitIndex: 9,
      appliedIndex: 9,
      stateHash: "ab",
      voters: ["n1", "n2"],
      learners: ["n3"],
    }),
    transferLeadership: () => true,
    changeMembership: async (change) => {
      asked.push(change);
      if (change.nodeId === "n9") throw fsError("EINVAL", "", "n9 is not a configured peer");
      if (change.nodeId === "n8") throw new NotLeaderError("n2", "127.0.0.1:2");
    },
  });
  const admin = client(address, TOKEN);
  const state = await admin.nodeState();
  assert.deepEqual([state.voters, state.learners], [["n1", "n2"], ["n3"]]);
  await admin.changeMembership({ change: "promote", nodeId: "n3" });
  assert.deepEqual(asked, [{ change: "promote", nodeId: "n3" }]);
  await assert.rejects(
    admin.changeMembership({ change: "demote" as "promote", nodeId: "n3" }),
    (e: SandstoreError) =>
      e.code === "EINVAL" && /unknown membership change "demote"/.test(e.message),
  );
  assert.equal(asked.length, 1, "a bad kind never reaches the node");
  await assert.rejects(
    admin.changeMembership({ change: "remove", nodeId: "n9" }),
    (e: SandstoreError) => e.code === "EINVAL",
  );
  await assert.rejects(
    admin.changeMembership({ change: "remove", nodeId: "n8" }),
    (e: NotLeaderError) => e instanceof NotLeaderError && e.leaderAddress === "127.0.0.1:2",
  );
  await assert.rejects(
    client(address, "wrong-token-0123456789").changeMembership({ change: "remove", nodeId: "n2" }),
    (e: SandstoreError) => e instanceof SandstoreError && e.code === "EACCES",
  );
  assert.equal(asked.length, 3);
});
