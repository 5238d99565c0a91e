/**
 * The AdminService handlers of a node whose consensus is a RaftNode: both Raft topologies
 * answer the same way, so they share this piece of wiring.
 */
import { fsError } from "../common/errors.ts";
import { isHostPort } from "../common/host-port.ts";
import { NODE_ID_PATTERN } from "../common/node-id.ts";
import type { ConfChange, RaftNode } from "../raft/node.ts";
import { translateRaftError } from "../replication/raft-replicator.ts";
import type {
  AdminHandlers,
  DataServerAdmin,
  MembershipChangeKind,
  UserAdmin,
} from "../transport/grpc-admin-service.ts";

const CONF_CHANGE_TYPE: Record<MembershipChangeKind, ConfChange["type"]> = {
  "add-learner": "addLearner",
  promote: "promote",
  remove: "remove",
};

export interface RaftAdminOptions {
  readonly id: string;
  /** The node, once built: the admin service is registered before it exists. */
  readonly node: () => RaftNode;
  /** The state machine's applied index and the hash of its contents at that index. */
  readonly machine: { appliedIndex(): number; stateHash(): string };
  /** Every configured peer id (`--peers`): their addresses are known to every member. */
  readonly peers: readonly string[];
  /**
   * Where a node that is not a configured peer listens, as recorded or registered; absent: a
   * topology whose group is its peers only (kv).
   */
  readonly addressOf?: (id: string) => string | undefined;
  /**
   * Records a new member's address through the log, so every member can reach it; absent: a
   * membership change may name configured peers only.
   */
  readonly recordAddress?: (id: string, address: string) => Promise<void>;
  /** The metadata's users, on the file-store topologies. */
  readonly users?: UserAdmin;
  /** Draining and rebalancing, on the replicated file-store topologies. */
  readonly dataServers?: DataServerAdmin;
}

export function raftAdminHandlers(o: RaftAdminOptions): AdminHandlers {
  return {
    state: () => {
      const raft = o.node().status();
      return {
        id: o.id,
        role: raft.role,
        term: raft.term,
        leaderId: raft.lead,
        commitIndex: raft.commit,
        appliedIndex: o.machine.appliedIndex(),
        stateHash: o.machine.stateHash(),
        voters: [...raft.conf.voters],
        learners: [...raft.conf.learners],
      };
    },
    transferLeadership: (to) => o.node().transferLeadership(to),
    changeMembership: async ({ change, nodeId, address }) => {
      if (address !== undefined) {
        if (!o.recordAddress)
          throw fsError(
            "EINVAL",
            "",
            "this topology's group is its configured peers: no --address",
          );
        if (!NODE_ID_PATTERN.test(nodeId) || !isHostPort(address))
          throw fsError("EINVAL", "", `"${nodeId}" at "${address}" is not an id and a host:port`);
        if (o.peers.includes(nodeId))
          throw fsError("EINVAL", "", `${nodeId} is a configured peer: its address is in --peers`);
        await o.recordAddress(nodeId, address);
      } else if (!o.peers.includes(nodeId)) {
        const known = o.addressOf?.(nodeId);
        if (!o.recordAddress)
          throw fsError(
            "EINVAL",
            "",
            `${nodeId} is not a configured peer (${o.peers.join(", ")}): this topology's group is its --peers`,
          );
        if (!known)
          throw fsError(
            "EINVAL",
            "",
            `${nodeId} is not a configured peer (${o.peers.join(", ")}) and has no address recorded or registered: give --address HOST:PORT`,
          );
        // An address learned from membership (etcd) is recorded too: every member, and every
        // later leader, can reach the node without asking membership.
        if (change === "add-learner") await o.recordAddress?.(nodeId, known);
      }
      try {
        await o.node().proposeMembershipChange({ type: CONF_CHANGE_TYPE[change], node: nodeId });
      } catch (error) {
        throw translateRaftError(error);
      }
    },
    users: o.users,
    dataServers: o.dataServers,
  };
}
