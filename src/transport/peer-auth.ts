/**
 * Peer authentication, the part of the Transport seam that draws the trust boundary between a
 * cluster's nodes and everybody else. Every internal service (Raft, chunk replicas, admin)
 * asks its `PeerAuth` who made a call before any message reaches the Raft core or a store,
 * and a call that proves nothing is refused. Implementations:
 *
 * - `token-peer-auth.ts`: the cluster token, a shared secret every internal call carries.
 *   The token proves membership of the cluster; the caller's node id is asserted beside it,
 *   and believed, since every holder of the token is a node or an operator.
 * - `tls-peer-auth.ts`: mutual TLS with the cluster's CA, as etcd's peer TLS. The caller's
 *   certificate proves both membership and its node id (the certificate's common name).
 *
 * Channel security for clients of the file service (which need no peer identity) is the
 * smaller `ChannelSecurity` below.
 */
import * as grpc from "@grpc/grpc-js";

/**
 * What authentication reads of a call's TLS session: the fields of grpc-js's AuthContext it
 * needs. grpc-js sets `sslPeerCertificate` only when the caller's certificate verified.
 */
export interface CallAuthContext {
  readonly sslPeerCertificate?: {
    readonly subject?: { readonly CN?: unknown; readonly OU?: unknown };
  };
}

/** What a verified caller is: a node of the cluster, or an operator's tool. */
export type PeerRole = "node" | "operator";

/** A caller whose credentials checked out. */
export interface PeerIdentity {
  /** The node id the caller proved (TLS) or asserted beside a valid token. */
  readonly id: string;
  readonly role: PeerRole;
}

/**
 * A call was refused at the trust boundary. The message says what was missing or wrong and
 * never contains a secret.
 */
export class PeerAuthError extends Error {
  override readonly name = "PeerAuthError";
}

/** The parts of an incoming gRPC call that authentication reads. */
export interface IncomingCall {
  readonly metadata: grpc.Metadata;
  getAuthContext(): CallAuthContext;
}

/** Credentials and options for one outgoing channel. */
export interface ChannelSetup {
  readonly credentials: grpc.ChannelCredentials;
  /** Channel options the security needs (a TLS name override); merge them into the channel's. */
  readonly options: grpc.ChannelOptions;
}

/** How a client reaches a node's public port: plaintext, or TLS against the cluster's CA. */
export interface ChannelSecurity {
  /** `tls` when the cluster's ports speak TLS. */
  readonly mode: "plaintext" | "tls";
  /**
   * A channel to the node `peerId`, whose identity TLS then checks; omitted when the caller
   * knows only an address (any certificate the cluster's CA signed is accepted).
   */
  channel(peerId?: string): ChannelSetup;
}

/** Counters of what the trust boundary turned away; they only grow. */
export interface PeerAuthCounters {
  /** Internal calls refused: no credentials, wrong credentials, or the wrong role. */
  readonly refusedCallsTotal: number;
  /** Raft messages dropped because their `from` was not the authenticated peer. */
  readonly forgedMessagesTotal: number;
}

/** A node's side of the trust boundary: how it proves itself and how it checks callers. */
export interface PeerAuth extends ChannelSecurity {
  /** The credentials every gRPC server of this node binds with. */
  serverCredentials(): grpc.ServerCredentials;
  /** Metadata every internal call this node makes carries (a fresh object each time). */
  callMetadata(): grpc.Metadata;
  /**
   * Who made `call`. Throws PeerAuthError, and counts the refusal, when its credentials are
   * missing or wrong, or its role is not among `roles`.
   */
  identify(call: IncomingCall, roles: readonly PeerRole[]): PeerIdentity;
  /** Counts a Raft message whose `from` was not its caller's id (see `identify`). */
  countForgedMessage(): void;
  readonly counters: PeerAuthCounters;
}

/** Plaintext channels: how clients reach a cluster whose ports speak no TLS (the default). */
export const PLAINTEXT_CHANNELS: ChannelSecurity = {
  mode: "plaintext",
  channel: () => ({ credentials: grpc.credentials.createInsecure(), options: {} }),
};

/** Metadata key of the cluster token on internal calls. */
export const TOKEN_HEADER = "sandstore-cluster-token";
/** Metadata key of the calling node's id on internal calls. */
export const NODE_ID_HEADER = "sandstore-node-id";
/** Metadata key of the caller's role on internal calls (token mode; TLS reads the certificate). */
export const ROLE_HEADER = "sandstore-peer-role";

/** The roles that may call each internal service. */
export const NODES_ONLY: readonly PeerRole[] = ["node"];
export const NODES_AND_OPERATORS: readonly PeerRole[] = ["node", "operator"];

/** A mutable counter pair behind `PeerAuthCounters`, for implementations. */
export class CounterPair implements PeerAuthCounters {
  refusedCallsTotal = 0;
  forgedMessagesTotal = 0;
}
