/**
 * Peer authentication by the cluster token (see peer-auth.ts): the default for a local
 * cluster. Every internal call carries the token, the caller's node id and its role; the
 * token is compared in constant time and never logged or echoed.
 */
import * as grpc from "@grpc/grpc-js";
import { NODE_ID_PATTERN } from "../common/node-id.ts";
import { secretsEqual } from "../common/secrets.ts";
import {
  CounterPair,
  type IncomingCall,
  NODE_ID_HEADER,
  type PeerAuth,
  PeerAuthError,
  type PeerIdentity,
  type PeerRole,
  PLAINTEXT_CHANNELS,
  ROLE_HEADER,
  TOKEN_HEADER,
} from "./peer-auth.ts";

/** Shortest cluster token accepted: 16 bytes of hex, what `sandstore up` generates. */
export const MIN_TOKEN_LENGTH = 16;

export interface TokenPeerAuthOptions {
  readonly token: string;
  /** The id this process speaks as (a node id, or an operator tool's name). */
  readonly selfId: string;
  readonly role: PeerRole;
}

function header(metadata: grpc.Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" ? value : undefined;
}

/**
 * A `PeerAuth` for the cluster token. Throws a RangeError for a token shorter than
 * MIN_TOKEN_LENGTH characters or an id that is not a node id.
 */
export function tokenPeerAuth(o: TokenPeerAuthOptions): PeerAuth {
  if (o.token.length < MIN_TOKEN_LENGTH)
    throw new RangeError(`the cluster token must be at least ${MIN_TOKEN_LENGTH} characters`);
  if (!NODE_ID_PATTERN.test(o.selfId))
    throw new RangeError(`"${o.selfId}" is not a node id (${NODE_ID_PATTERN})`);
  const counters = new CounterPair();
  const refuse = (why: string): never => {
    counters.refusedCallsTotal += 1;
    throw new PeerAuthError(why);
  };
  return {
    mode: "plaintext",
    counters,
    serverCredentials: () => grpc.ServerCredentials.createInsecure(),
    channel: PLAINTEXT_CHANNELS.channel,
    callMetadata() {
      const metadata = new grpc.Metadata();
      metadata.set(TOKEN_HEADER, o.token);
      metadata.set(NODE_ID_HEADER, o.selfId);
      metadata.set(ROLE_HEADER, o.role);
      return metadata;
    },
    identify(call: IncomingCall, roles: readonly PeerRole[]): PeerIdentity {
      const token = header(call.metadata, TOKEN_HEADER);
      if (token === undefined) return refuse("no cluster token");
      if (!secretsEqual(token, o.token)) return refuse("wrong cluster token");
      const id = header(call.metadata, NODE_ID_HEADER) ?? "";
      if (!NODE_ID_PATTERN.test(id)) return refuse("no caller node id beside the token");
      const role = header(call.metadata, ROLE_HEADER) === "operator" ? "operator" : "node";
      if (!roles.includes(role)) return refuse(`a caller with the ${role} role may not call this`);
      return { id, role };
    },
    countForgedMessage() {
      counters.forgedMessagesTotal += 1;
    },
  };
}
