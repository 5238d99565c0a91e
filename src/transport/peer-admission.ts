/**
 * The trust boundary as every internal gRPC service applies it: who made a call, or the
 * status that refuses it. One place, so that Raft, chunk and admin calls are turned away
 * alike: EACCES, naming the service and what was wrong, never a secret.
 */
import type * as grpc from "@grpc/grpc-js";
import { fsError } from "../common/errors.ts";
import { errorToStatus } from "./grpc-transport.ts";
import {
  type IncomingCall,
  type PeerAuth,
  PeerAuthError,
  type PeerIdentity,
  type PeerRole,
} from "./peer-auth.ts";

/** A call let in, with who made it, or refused, with the status to answer. */
export type PeerAdmission =
  | { readonly admitted: true; readonly identity: PeerIdentity }
  | { readonly admitted: false; readonly status: Partial<grpc.StatusObject> };

/**
 * Asks `auth` who made `call` for `service` (named in the refusal), which `roles` may call.
 * Errors other than a refusal are passed on.
 */
export function admitPeer(
  auth: PeerAuth,
  call: IncomingCall,
  roles: readonly PeerRole[],
  service: string,
): PeerAdmission {
  try {
    return { admitted: true, identity: auth.identify(call, roles) };
  } catch (error) {
    if (!(error instanceof PeerAuthError)) throw error;
    return {
      admitted: false,
      status: errorToStatus(fsError("EACCES", "", `${service}: ${error.message}`)),
    };
  }
}
