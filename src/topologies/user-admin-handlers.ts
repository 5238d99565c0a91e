/**
 * The AdminService's user calls on a file-store topology: the control plane's user
 * management, as operators reach it (`sandstore user`). Shared by every file topology.
 */
import type { ControlPlane } from "../control/control-plane.ts";
import type { UserAdmin } from "../transport/grpc-admin-service.ts";

export function userAdmin(control: ControlPlane): UserAdmin {
  return {
    add: (user) => control.addUser(user),
    resetSecret: (name) => control.resetSecret(name),
    remove: (name) => control.removeUser(name),
    list: async () =>
      (await control.listUsers()).map((user) => ({
        name: user.name,
        uid: user.uid,
        gid: user.gid,
        groups: [...user.groups],
        accessKeyId: user.accessKeyId,
        createdMs: user.createdMs,
      })),
  };
}
