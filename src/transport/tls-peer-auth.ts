/**
 * Peer authentication by mutual TLS (see peer-auth.ts), as etcd's peer TLS. A node's TLS
 * directory holds the cluster's CA (`ca.crt`), its own certificate (`node.crt`) and key
 * (`node.key`); `sandstore certs` and `sandstore up --tls` make them (certificate-authority.ts).
 *
 * A certificate names its holder in the subject: the common name is the node id, the
 * organizational unit its role (`node` or `operator`). Servers ask every caller for a
 * certificate but do not require one, because clients of the file service share the port
 * and have none: the internal services refuse a call whose caller presented no certificate
 * the CA signed. Calls to a peer check that its certificate names that peer; clients that know
 * only an address accept any node certificate the CA signed.
 *
 * Certificates are read once, at start: rotating them is a rolling restart (docs/security.md).
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { NODE_ID_PATTERN } from "../common/node-id.ts";
import {
  type ChannelSecurity,
  type ChannelSetup,
  CounterPair,
  type IncomingCall,
  type PeerAuth,
  PeerAuthError,
  type PeerIdentity,
  type PeerRole,
} from "./peer-auth.ts";

/** File names inside a TLS directory. */
export const TLS_FILES = { ca: "ca.crt", cert: "node.crt", key: "node.key" } as const;

/** The bytes of a TLS directory, checked against each other. */
export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Who the certificate names. */
  readonly identity: PeerIdentity;
}

/** The fields of a certificate subject (`CN=n1\nOU=node`) as Node prints it. */
function subjectFields(subject: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of subject.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  return fields;
}

/** The identity a subject names, or a reason it names none. */
function identityOf(cn: unknown, ou: unknown): PeerIdentity | string {
  if (typeof cn !== "string" || !NODE_ID_PATTERN.test(cn))
    return `its common name is not a node id (${NODE_ID_PATTERN})`;
  if (ou !== "node" && ou !== "operator")
    return `its organizational unit is ${JSON.stringify(ou)}, not "node" or "operator"`;
  return { id: cn, role: ou };
}

/**
 * Reads and checks a TLS directory: every file present, the certificate signed by the CA,
 * valid now, matching the key, and naming a node id and a role. With `expectedId`, the
 * certificate must name that id. Throws an Error naming the file and what is wrong.
 */
export function loadTlsDirectory(dir: string, expectedId?: string): TlsMaterial {
  const read = (name: string): Buffer => {
    try {
      return readFileSync(join(dir, name));
    } catch (error) {
      throw new Error(`TLS directory ${dir}: cannot read ${name}: ${(error as Error).message}`);
    }
  };
  const ca = read(TLS_FILES.ca);
  const cert = read(TLS_FILES.cert);
  const key = read(TLS_FILES.key);
  const certPath = join(dir, TLS_FILES.cert);
  let parsed: X509Certificate;
  let authority: X509Certificate;
  try {
    parsed = new X509Certificate(cert);
    authority = new X509Certificate(ca);
  } catch (error) {
    throw new Error(`TLS directory ${dir}: not a PEM certificate: ${(error as Error).message}`);
  }
  if (!parsed.checkIssued(authority) || !parsed.verify(authority.publicKey))
    throw new Error(`${certPath} is not signed by the CA in ${join(dir, TLS_FILES.ca)}`);
  const now = Date.now();
  if (now < Date.parse(parsed.validFrom) || now > Date.parse(parsed.validTo))
    throw new Error(`${certPath} is not valid now (${parsed.validFrom} to ${parsed.validTo})`);
  if (!parsed.checkPrivateKey(createPrivateKey(key)))
    throw new Error(`${join(dir, TLS_FILES.key)} is not the key of ${certPath}`);
  const fields = subjectFields(parsed.subject);
  const identity = identityOf(fields.get("CN"), fields.get("OU"));
  if (typeof identity === "string") throw new Error(`${certPath}: ${identity}`);
  if (expectedId !== undefined && identity.id !== expectedId)
    throw new Error(`${certPath} names ${identity.id}, not this node (${expectedId})`);
  return { ca, cert, key, identity };
}

/**
 * Serves fixed certificates to grpc-js's certificate-provider credentials. grpc-js adds its
 * server's watcher only after subscribing to the providers, so an update delivered during the
 * subscription is lost and the server refuses every connection: updates are delivered on the
 * next microtask instead.
 */
class FixedCertificates implements grpc.experimental.CertificateProvider {
  constructor(
    private readonly ca: Buffer,
    private readonly identity: { certificate: Buffer; privateKey: Buffer },
  ) {}
  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    queueMicrotask(() => listener({ caCertificate: this.ca }));
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(
    listener: grpc.experimental.IdentityCertificateUpdateListener,
  ): void {
    queueMicrotask(() => listener(this.identity));
  }
  removeIdentityCertificateListener(): void {}
}

/**
 * A channel that trusts the CA `ca`, presents `identity` when given, and accepts a server whose
 * certificate names a node (`peerId` when given).
 */
function channelTo(
  ca: Buffer,
  identity: { key: Buffer; cert: Buffer } | undefined,
  peerId: string | undefined,
): ChannelSetup {
  const credentials = grpc.credentials.createSsl(
    ca,
    identity?.key ?? null,
    identity?.cert ?? null,
    {
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        const named = identityOf(cert.subject?.CN, cert.subject?.OU);
        if (typeof named === "string") return new Error(`server certificate: ${named}`);
        if (named.role !== "node") return new Error("server certificate is not a node's");
        if (peerId !== undefined && named.id !== peerId)
          return new Error(`server certificate names ${named.id}, not ${peerId}`);
        return undefined;
      },
    },
  );
  // The server name sent in the handshake: a peer's id, never an IP address (RFC 6066
  // forbids those, and Node warns); the identity check above reads the certificate itself.
  return { credentials, options: { "grpc.ssl_target_name_override": peerId ?? "sandstore" } };
}

/** A `PeerAuth` over a checked TLS directory (see `loadTlsDirectory`). */
export function tlsPeerAuth(material: TlsMaterial): PeerAuth {
  const counters = new CounterPair();
  const refuse = (why: string): never => {
    counters.refusedCallsTotal += 1;
    throw new PeerAuthError(why);
  };
  // One provider serves both: grpc-js's declaration names the first parameter the CA provider
  // and its code uses it as the identity provider (grpc-js 1.14); with one object for both,
  // the order cannot be wrong.
  const certificates = new FixedCertificates(material.ca, {
    certificate: material.cert,
    privateKey: material.key,
  });
  const serverCredentials = grpc.experimental.createCertificateProviderServerCredentials(
    certificates,
    certificates,
    false,
  );
  return {
    mode: "tls",
    counters,
    serverCredentials: () => serverCredentials,
    channel: (peerId) => channelTo(material.ca, material, peerId),
    callMetadata: () => new grpc.Metadata(),
    identify(call: IncomingCall, roles: readonly PeerRole[]): PeerIdentity {
      // Present only when the caller's certificate verified against the CA.
      const cert = call.getAuthContext().sslPeerCertificate;
      if (!cert) return refuse("no client certificate signed by the cluster's CA");
      const identity = identityOf(cert.subject?.CN, cert.subject?.OU);
      if (typeof identity === "string") return refuse(`client certificate: ${identity}`);
      if (!roles.includes(identity.role))
        return refuse(`a caller with the ${identity.role} role may not call this`);
      return identity;
    },
    countForgedMessage() {
      counters.forgedMessagesTotal += 1;
    },
  };
}

/** TLS for a client of the file service: trusts the CA in `caPem`, presents no certificate. */
export function tlsClientSecurity(caPem: Buffer): ChannelSecurity {
  try {
    new X509Certificate(caPem);
  } catch (error) {
    throw new Error(`not a PEM CA certificate: ${(error as Error).message}`);
  }
  return { mode: "tls", channel: (peerId) => channelTo(caPem, undefined, peerId) };
}
