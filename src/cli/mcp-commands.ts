/**
 * `sandstore mcp`: the cluster as an MCP server over stdio, for an assistant that starts it
 * as a subprocess (docs/mcp.md). It calls the cluster as `--user`, so the cluster's
 * permissions bound what an assistant can do; given an operator's credentials
 * (`--cluster-token` or `--tls-dir`) it may also move leadership. Stdout carries the protocol
 * only; anything the command says goes to stderr.
 */
import type { Command } from "commander";
import { MEMBER_STATUS_TIMEOUT_MS } from "../client/cluster-status.ts";
import { connect } from "../client/connect.ts";
import { adminLeadershipMover } from "../transport/admin-leadership.ts";
import {
  type ClusterFlags,
  type CredentialFlags,
  clientCredentials,
  operatorAuth,
  withCluster,
  withCredentials,
} from "./cli-support.ts";

/** The operator's credentials, when given: what moving leadership takes. */
function leadershipOf(flags: CredentialFlags) {
  if (!flags.clusterToken && !flags.tlsDir) return undefined;
  return adminLeadershipMover(operatorAuth(flags));
}

export function registerMcpCommands(program: Command): void {
  withCredentials(
    withCluster(
      program
        .command("mcp")
        .description("serve the cluster to an MCP client (an AI assistant) over stdio"),
    ),
    "an operator's, to let the assistant move leadership; optional",
  ).action(async (flags: ClusterFlags & CredentialFlags) => {
    // Loaded here: no other command needs the MCP SDK.
    const { StdioServerTransport } = await import("@modelcontextprotocol/sdk/server/stdio.js");
    const { sandstoreMcpServer } = await import("../mcp/sandstore-mcp-server.ts");
    const credentials = clientCredentials(flags);
    const leadership = leadershipOf(flags);
    const client = connect(flags.cluster, { tlsCa: flags.tlsCa, credentials });
    const server = sandstoreMcpServer({
      client,
      connectTo: (address) =>
        connect(address, {
          retryForMs: 0,
          callTimeoutMs: MEMBER_STATUS_TIMEOUT_MS,
          tlsCa: flags.tlsCa,
          credentials,
        }),
      ...(leadership && { leadership }),
    });
    const closed = new Promise<void>((done) => {
      server.server.onclose = done;
    });
    await server.connect(new StdioServerTransport());
    console.error(
      `sandstore mcp: serving ${flags.cluster} over stdio${leadership ? ", with an operator's credentials" : ""}`,
    );
    // The client closing stdin ends the session.
    process.stdin.once("end", () => {
      void server.close();
    });
    await closed;
    await client.closeClient();
  });
}
