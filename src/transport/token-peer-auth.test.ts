import assert from "node:assert/strict";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { NODES_AND_OPERATORS, NODES_ONLY, PeerAuthError, TOKEN_HEADER } from "./peer-auth.ts";
import { tokenPeerAuth } from "./token-peer-auth.ts";

const TOKEN = "0123456789abcdef0123456789abcdef";
const call = (metadata: grpc.Metadata) => ({ metadata, getAuthContext: () => ({}) });

test("a token caller is identified by the id beside the token; strangers and wrong roles are refused and counted", () => {
  const server = tokenPeerAuth({ token: TOKEN, selfId: "n1", role: "node" });
  const peer = tokenPeerAuth({ token: TOKEN, selfId: "n2", role: "node" });
  const operator = tokenPeerAuth({ token: TOKEN, selfId: "operator", role: "operator" });
  assert.deepEqual(server.identify(call(peer.callMetadata()), NODES_ONLY), {
    id: "n2",
    role: "node",
  });
  assert.deepEqual(server.identify(call(operator.callMetadata()), NODES_AND_OPERATORS), {
    id: "operator",
    role: "operator",
  });
  assert.throws(
    () => server.identify(call(operator.callMetadata()), NODES_ONLY),
    /operator role may not call this/,
  );
  assert.throws(() => server.identify(call(new grpc.Metadata()), NODES_ONLY), /no cluster token/);
  const wrong = peer.callMetadata();
  wrong.set(TOKEN_HEADER, "f".repeat(32));
  assert.throws(
    () => server.identify(call(wrong), NODES_ONLY),
    (error: Error) =>
      error instanceof PeerAuthError &&
      /wrong cluster token/.test(error.message) &&
      !error.message.includes("f".repeat(32)),
  );
  assert.equal(server.counters.refusedCallsTotal, 3);
  server.countForgedMessage();
  assert.equal(server.counters.forgedMessagesTotal, 1);
});

test("short tokens and ids that are not node ids are refused at construction", () => {
  assert.throws(() => tokenPeerAuth({ token: "short", selfId: "n1", role: "node" }), RangeError);
  assert.throws(() => tokenPeerAuth({ token: TOKEN, selfId: "a b", role: "node" }), RangeError);
});
