/**
 * `kv` registered like every other topology: `sandstore node --topology kv` starts a
 * key-value node from the same flags as the file topologies (its client port given by
 * `--client-listen`, each peer naming both its ports), and refuses the flags it has no use for.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { freePorts } from "../src/common/free-ports.ts";
import { kvRequest } from "../src/kv/kv-client.ts";
import { type NodeProcess, runCli, startNode } from "./helpers/node-process.ts";
import { temporaryDirectories } from "./helpers/temp-dirs.ts";

const tempDir = temporaryDirectories("sandstore-kv-topology-");
const TOKEN = "0123456789abcdef0123456789abcdef";

test("sandstore node --topology kv: three nodes elect a leader, and a write on one is read on another", {
  timeout: 120_000,
}, async () => {
  const ports = await freePorts(6);
  const raft = (i: number) => `127.0.0.1:${ports[i]}`;
  const client = (i: number) => `127.0.0.1:${ports[3 + i]}`;
  const peers = [0, 1, 2].map((i) => `n${i + 1}=${raft(i)}/${client(i)}`).join(",");
  const nodes: NodeProcess[] = [];
  after(() => Promise.all(nodes.map((node) => node.stop())));
  for (const i of [0, 1, 2]) {
    nodes.push(
      await startNode({
        dataDir: await tempDir(),
        id: `n${i + 1}`,
        port: ports[i],
        args: [
          ...["--topology", "kv", "--peers", peers, "--client-listen", client(i)],
          ...["--cluster-token", TOKEN],
        ],
      }),
    );
  }
  // Each node printed its Raft port as the address every topology prints.
  assert.deepEqual(
    nodes.map((node) => node.address),
    [0, 1, 2].map(raft),
  );
  // kvRequest follows NOT_LEADER replies, which name the leader's client port from --peers.
  assert.equal(await kvRequest([client(2)], "SET colour blue", 30_000), "OK");
  assert.equal(await kvRequest([client(1)], "GET colour", 30_000), "VALUE blue");
});

test("sandstore node --topology kv refuses what it has no use for, naming it", async () => {
  const base = ["node", "--id", "n1", "--listen", "127.0.0.1:0", "--data-dir", await tempDir()];
  const kv = [...base, "--topology", "kv", "--cluster-token", TOKEN];
  const cases: Array<[string[], RegExp]> = [
    [kv, /--client-listen/],
    [[...kv, "--client-listen", "127.0.0.1:0", "--chunk-size", "65536"], /remove --chunk-size/],
    [[...kv, "--client-listen", "127.0.0.1:0", "--auth", "required"], /remove --auth required/],
    [
      [...kv, "--client-listen", "127.0.0.1:0", "--peers", "n2=127.0.0.1:1"],
      /peer n2: .*id=host:port\/host:clientPort/,
    ],
    [
      [...base, "--topology", "hyperconverged", "--client-listen", "127.0.0.1:0"],
      /--client-listen is for/,
    ],
    [
      [...base, "--topology", "hyperconverged", "--peers", "n2=127.0.0.1:1/127.0.0.1:2"],
      /peer n2: .*write id=host:port/,
    ],
  ];
  for (const [args, message] of cases) {
    const run = await runCli(args);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message, args.join(" "));
  }
});
