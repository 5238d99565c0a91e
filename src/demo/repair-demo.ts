/**
 * `sandstore demo repair`: a server holding chunk copies dies. The leader, which counts each
 * chunk's copies on live servers, finds chunks short of R and copies each from a survivor to
 * another server until every chunk has R again; the files stay readable throughout.
 */
import { clusterStatus } from "../client/cluster-status.ts";
import type { SandstoreClient } from "../client/sandstore-client.ts";
import { waitFor } from "../common/wait-for.ts";
import type { StatusResponse } from "../gen/sandstore/v1/file_service.ts";
import { awaitLeader, type Demo, type DemoContext, withClient, writeFiles } from "./demo.ts";

/** The cluster's status with every member's own figures, through `client`. */
function fullStatus(context: DemoContext, client: SandstoreClient): Promise<StatusResponse> {
  return clusterStatus(client, (address) => context.client([address], 2000));
}

/** One line per server holding chunks: its copies and bytes. */
function copiesLines(status: StatusResponse): string[] {
  return status.nodes
    .filter((node) => node.roles.includes("data"))
    .map(
      (node) =>
        `${node.id}: ${node.role === "unreachable" || !node.live ? "down, " : ""}${node.chunkCount} chunk copies, ${node.chunkBytes} bytes`,
    );
}

export const repairDemo: Demo = {
  name: "repair",
  summary: "a server holding chunk copies dies; the leader copies its chunks back to R",
  steps: 4,
  async run(context: DemoContext) {
    const { cluster, narrator } = context;
    await narrator.step(
      "Files, and where their chunks are",
      ["Twenty files are written. Each is cut into chunks, and each chunk is stored on R servers."],
      "the node table's chunk counts grow; the file browser's placement view names each copy's server.",
    );
    const first = await awaitLeader(context, "a leader");
    const settings = await withClient(context, async (client) => {
      await writeFiles(context, client, "file", 20);
      return fullStatus(context, client);
    });
    for (const line of copiesLines(settings)) narrator.say(line);
    narrator.say(
      `R = ${settings.replicationFactor}, chunk size ${settings.chunkSize} B; ${context.writes.count} files acknowledged.`,
    );

    // The victim: a server with copies that is not the leader, so repair keeps its leader.
    const victim = settings.nodes
      .filter((node) => node.roles.includes("data") && node.id !== first.id && node.chunkCount > 0)
      .sort((a, b) => b.chunkCount - a.chunkCount)[0];
    if (!victim) throw new Error("no server other than the leader holds chunk copies");
    await narrator.step(
      `Kill ${victim.id}, which holds ${victim.chunkCount} chunk copies`,
      [
        `Every chunk with a copy on ${victim.id} now has one fewer live copy. Reads still work: a`,
        "client reads a surviving copy. Once the server has been unreachable for the leader's",
        "--repair-lost-after-ms (5 minutes by default, 3 s on the demo's own cluster: a restart",
        "would make the copying moot), repair counts its copies lost and copies each chunk from",
        "a survivor to a server without one.",
      ],
      "the node table mark it down; the maintenance line count chunks short, then repaired.",
    );
    const leaderAddress = [cluster.clientAddress(first.id)];
    const maintenance = (status: StatusResponse) =>
      status.nodes.find((node) => node.id === first.id)?.maintenance;
    const repairedBefore = await withClient(
      context,
      async (client) => maintenance(await client.status())?.repairedTotal ?? 0,
      leaderAddress,
    );
    await cluster.crash(victim.id);
    let last = "";
    // Passes done when the first copy was seen: the pass under way then found it, and only
    // the pass after that can find nothing short.
    let firstRepairPass: number | undefined;
    const repaired = (status: StatusResponse) => {
      const m = maintenance(status);
      if (!m?.active) return false;
      const made = m.repairedTotal - repairedBefore;
      const line = `${m.repairPasses} repair passes done, the last found ${m.underReplicated} chunks short of R; ${made} copies made since the kill`;
      if (line !== last) narrator.say(line);
      last = line;
      if (made > 0) firstRepairPass ??= m.repairPasses;
      const victimRow = status.nodes.find((node) => node.id === victim.id);
      return (
        victimRow !== undefined &&
        !victimRow.live &&
        firstRepairPass !== undefined &&
        m.repairPasses >= firstRepairPass + 2 &&
        m.underReplicated === 0 &&
        m.repairPending === 0
      );
    };
    // Maintenance runs on the leader, and only the node asked reports its own.
    await withClient(
      context,
      (client) =>
        waitFor(
          async () => repaired(await client.status()),
          "repair to bring every chunk back to R copies",
          context.patienceMs,
        ),
      leaderAddress,
    );

    await narrator.step(
      "Every chunk has R copies again",
      [`The copies ${victim.id} held now live on the other servers.`],
      "the chunk counts of the live servers: together R per chunk again.",
    );
    const after = await withClient(context, (client) => fullStatus(context, client));
    for (const line of copiesLines(after)) narrator.say(line);

    await narrator.step(
      `Bring ${victim.id} back`,
      [
        `${victim.id} returns with its old copies. They are surplus now; nothing reads a copy the`,
        "metadata no longer lists.",
      ],
      `${victim.id} live again in the node table.`,
    );
    await cluster.restart(victim.id);
    narrator.say(`${victim.id} answers again.`);
  },
};
