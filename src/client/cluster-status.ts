/**
 * The whole cluster's status: each member's own row, asked of the member itself. A node's
 * status lists every member but knows only its own figures; this asks the others and merges.
 */
import type { NodeStatus, StatusResponse } from "../gen/sandstore/v1/file_service.ts";
import type { StatusOptions } from "./namespace-operations.ts";
import type { SandstoreClient } from "./sandstore-client.ts";

/** How long one member asked for its own row may take: a member that takes longer is unreachable. */
export const MEMBER_STATUS_TIMEOUT_MS = 2000;

/**
 * Every member's row of the cluster `client` reaches, each from the member itself; one that
 * does not answer is kept with role `unreachable`. `connectTo` makes a client of one member
 * (the caller bounds its deadline); each is closed when asked. Liveness and draining stay as
 * the first node answered: a data server does not know the metadata's marks.
 */
export async function clusterStatus(
  client: SandstoreClient,
  connectTo: (address: string) => SandstoreClient,
  options: StatusOptions = {},
): Promise<StatusResponse> {
  const ask = { stateHash: options.stateHash ?? false, events: options.events ?? false };
  const first = await client.status(ask);
  const nodes = await Promise.all(
    first.nodes.map(async (node): Promise<NodeStatus> => {
      if (node.live) return node;
      const other = connectTo(node.address);
      try {
        const reply = await other.status(ask);
        const own = reply.nodes.find((n) => n.id === node.id);
        return own
          ? { ...own, memberLive: node.memberLive, draining: node.draining }
          : { ...node, role: "unreachable" };
      } catch {
        // Any failure to answer means the same to a reader of the status: unreachable now.
        return { ...node, role: "unreachable" };
      } finally {
        await other.closeClient();
      }
    }),
  );
  return { ...first, nodes };
}
