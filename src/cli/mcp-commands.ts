/**
 * `sandstore mcp`: the cluster as an MCP server over stdio, for an assistant that starts it
 * as a subprocess (docs/mcp.md). It calls the cluster as `--user`, so the cluster's
 * permissions bound what an assistant can do. Stdout carries the protocol only; anything the
 * command says goes to stderr.
 */
import type { Command } from "commander";
import { connect } from "../client/connect.ts";
import { type ClusterFlags, clientCredentials, withCluster } from "./cli-support.ts";

export function registerMcpCommands(program: Command): void {
  withCluster(
    program
      .command("mcp")
      .description("serve the cluster to an MCP client (an AI assistant) over stdio"),
  ).action(async (flags: ClusterFlags) => {
    // Loaded here: no other command needs the MCP SDK.
    const { StdioServerTransport } = await import("@modelcontextprotocol/sdk/server/stdio.js");
    const { sandstoreMcpServer } = await import("../mcp/sandstore-mcp-server.ts");
    const client = connect(flags.cluster, {
      tlsCa: flags.tlsCa,
      credentials: clientCredentials(flags),
    });
    const server = sandstoreMcpServer(client);
    const closed = new Promise<void>((done) => {
      server.server.onclose = done;
    });
    await server.connect(new StdioServerTransport());
    console.error(`sandstore mcp: serving ${flags.cluster} over stdio`);
    // The client closing stdin ends the session.
    process.stdin.once("end", () => {
      void server.close();
    });
    await closed;
    await client.closeClient();
  });
}
