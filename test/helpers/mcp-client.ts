/**
 * An MCP client (the MCP SDK's own) of `sandstore mcp` started over stdio, for tests: the
 * command runs as a child process with `args` after `mcp`, and stops when the client closes.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { NODE_RUNTIME_FLAGS } from "../../src/common/runtime-flags.ts";
import { CLI } from "./node-process.ts";

/** A connected client of `sandstore mcp ARGS`; close it to stop the command. */
export async function mcpOverStdio(args: readonly string[]): Promise<Client> {
  const client = new Client({ name: "sandstore-test", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [...NODE_RUNTIME_FLAGS, CLI, "mcp", ...args],
      stderr: "ignore",
    }),
  );
  return client;
}
