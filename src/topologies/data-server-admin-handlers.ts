/**
 * The AdminService's drain and rebalance calls on a replicated file topology: the metadata
 * log's draining marks, and the leader's repair and rebalancer, as operators reach them
 * (`sandstore drain`, `sandstore rebalance`). Shared by hyperconverged and disaggregated.
 */
import { fsError } from "../common/errors.ts";
import type { ReplicatedControlPlane } from "../control/replicated-control-plane.ts";
import type { Membership } from "../membership/membership.ts";
import type { DataServerAdmin } from "../transport/grpc-admin-service.ts";
import type { LeaderMaintenance } from "./leader-maintenance.ts";

export function dataServerAdmin(
  control: ReplicatedControlPlane,
  membership: Membership,
  maintenance: LeaderMaintenance,
): DataServerAdmin {
  return {
    async drain(nodeId, draining) {
      const known = membership.members("data").map((node) => node.id);
      // Marking is refused for an id no data server has; clearing a mark never is.
      if (draining && !known.includes(nodeId))
        throw fsError(
          "EINVAL",
          "",
          `${nodeId} is not a data server of this cluster (known: ${known.join(", ") || "none"})`,
        );
      await control.setDraining(nodeId, draining);
    },
    async drainStatus() {
      const { draining, repairPasses } = maintenance.drainStatus();
      return {
        draining: [...draining].map(([nodeId, copiesLeft]) => ({ nodeId, copiesLeft })),
        repairPasses,
      };
    },
    async rebalanceStep(request) {
      const result = await maintenance.rebalanceStep(request);
      return { ...result, servers: [...result.servers] };
    },
  };
}
