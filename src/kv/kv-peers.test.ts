import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePeers } from "./kv-peers.ts";

test("parses TitanStore's peer list, IPv6 hosts in brackets included", () => {
  assert.deepEqual(parsePeers("n2:localhost:5002:6002, n3:[::1]:5003:6003", "n1"), [
    { id: "n2", host: "localhost", raftPort: 5002, clientPort: 6002 },
    { id: "n3", host: "[::1]", raftPort: 5003, clientPort: 6003 },
  ]);
  assert.deepEqual(parsePeers("", "n1"), []);
});

test("bad peer lists are refused with the entry named", () => {
  assert.throws(
    () => parsePeers("n2:localhost:5002", "n1"),
    /peer "n2:localhost:5002" is not id:host:raftPort:clientPort/,
  );
  assert.throws(() => parsePeers("n2:h:70000:6002", "n1"), /raft port 70000/);
  assert.throws(() => parsePeers("n2:h:5002:6002,n2:h:5003:6003", "n1"), /appears twice/);
  assert.throws(() => parsePeers("n1:h:5002:6002", "n1"), /names this node \(n1\) itself/);
  assert.throws(() => parsePeers("n2:::1:5002:6002", "n1"), /not id:host/);
});
