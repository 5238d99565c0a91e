import assert from "node:assert/strict";
import { connect } from "node:http2";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { waitFor } from "../common/wait-for.ts";
import { bindServer, MAX_STREAMS_PER_CONNECTION, RECEIVE_WINDOW_BYTES } from "./grpc-server.ts";

test("a bound server offers its clients the large receive window, per stream and connection, and bounds the calls on one connection", async () => {
  const server = new grpc.Server();
  const port = await bindServer(
    server,
    "127.0.0.1:0",
    RECEIVE_WINDOW_BYTES,
    grpc.ServerCredentials.createInsecure(),
  );
  const session = connect(`http://127.0.0.1:${port}`);
  try {
    await waitFor(
      () =>
        session.remoteSettings.initialWindowSize === RECEIVE_WINDOW_BYTES &&
        session.remoteSettings.maxConcurrentStreams === MAX_STREAMS_PER_CONNECTION &&
        (session.state.remoteWindowSize ?? 0) >= RECEIVE_WINDOW_BYTES,
      "the server's window settings",
      5000,
    );
  } finally {
    await new Promise<void>((resolve) => session.close(resolve));
    server.forceShutdown();
  }
});

test("a window outside HTTP/2's range is refused before binding", async () => {
  const server = new grpc.Server();
  for (const bad of [1000, 2 ** 31, 1.5e6 + 0.5])
    await assert.rejects(
      bindServer(server, "127.0.0.1:0", bad, grpc.ServerCredentials.createInsecure()),
      RangeError,
    );
  server.forceShutdown();
});
