/**
 * The trust boundary's wiring, shared by the topologies and the operator's tools: which
 * `PeerAuth` a node or an operator gets from its flags (`--cluster-token`, `--tls-dir`), and
 * how a client of the file service reaches a cluster (`--tls-ca`), and how users' secrets are
 * made.
 */
import { readFileSync } from "node:fs";
import { deriveUserSecret, userSecretKey } from "../common/secrets.ts";
import { type ChannelSecurity, type PeerAuth, PLAINTEXT_CHANNELS } from "../transport/peer-auth.ts";
import { loadTlsDirectory, tlsClientSecurity, tlsPeerAuth } from "../transport/tls-peer-auth.ts";
import { tokenPeerAuth } from "../transport/token-peer-auth.ts";

/** The credential flags of a node or a tool. */
export interface CredentialOptions {
  /** The cluster token (token mode). */
  readonly clusterToken?: string;
  /** A TLS directory: `ca.crt`, `node.crt`, `node.key` (mutual TLS mode; wins over the token). */
  readonly tlsDir?: string;
}

/**
 * The `PeerAuth` of node `id`. Throws a RangeError when neither a token nor a TLS directory
 * is given (a replicated topology must not serve its internal services to strangers), and an
 * Error naming the file when the TLS directory does not check out or names another node.
 */
export function nodePeerAuth(id: string, topology: string, o: CredentialOptions): PeerAuth {
  if (o.tlsDir) return tlsPeerAuth(loadTlsDirectory(o.tlsDir, id));
  if (!o.clusterToken)
    throw new RangeError(
      `the ${topology} topology needs a cluster token (--cluster-token or SANDSTORE_CLUSTER_TOKEN) or --tls-dir`,
    );
  return tokenPeerAuth({ token: o.clusterToken, selfId: id, role: "node" });
}

/** The `PeerAuth` of an operator's tool (`sandstore member`, the chaos harness). */
export function operatorPeerAuth(o: CredentialOptions): PeerAuth {
  if (o.tlsDir) {
    const material = loadTlsDirectory(o.tlsDir);
    if (material.identity.role !== "operator" && material.identity.role !== "node")
      throw new RangeError(`${o.tlsDir} holds no operator or node certificate`);
    return tlsPeerAuth(material);
  }
  if (!o.clusterToken)
    throw new RangeError(
      "this needs the cluster token (--cluster-token or SANDSTORE_CLUSTER_TOKEN) or --tls-dir",
    );
  return tokenPeerAuth({ token: o.clusterToken, selfId: "operator", role: "operator" });
}

/** How a client of the file service reaches the cluster: TLS against `tlsCa` (a PEM file), or plaintext. */
export function clientChannelSecurity(tlsCa: string | undefined): ChannelSecurity {
  if (!tlsCa) return PLAINTEXT_CHANNELS;
  let pem: Buffer;
  try {
    pem = readFileSync(tlsCa);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot read the CA certificate ${tlsCa}: ${reason}`);
  }
  return tlsClientSecurity(pem);
}

/**
 * How a node makes users' secrets: derived from the cluster token when it has one (so an S3
 * gateway with the token can check signatures, `deriveUserSecret`); random without.
 */
export function userSecretMaker(
  o: CredentialOptions,
): ((accessKeyId: string, salt: Uint8Array) => string) | undefined {
  if (!o.clusterToken) return undefined;
  const key = userSecretKey(o.clusterToken);
  return (accessKeyId, salt) => deriveUserSecret(key, accessKeyId, salt);
}
