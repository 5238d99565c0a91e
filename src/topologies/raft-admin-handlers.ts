/**
 * The AdminService handlers of a node whose consensus is a RaftNode: both Raft topologies
 * answer the same way, so they share this piece of wiring.
 */
import { fsError } from "../common/errors.ts";
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
  /** Every configured peer id: membership changes may name only these (they have addresses). */
  readonly peers: readonly string[];
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
    changeMembership: async ({ change, nodeId }) => {
      if (!o.peers.includes(nodeId)) {
        throw fsError(
          "EINVAL",
          "",
          `${nodeId} is not a configured peer (${o.peers.join(", ")}): it has no address`,
        );
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
