/**
 * Making a cluster's TLS material: a CA, and a certificate per node and for operators, laid
 * out as TLS directories that `--tls-dir` takes (tls-peer-auth.ts).
 *
 * The X.509 work is @peculiar/x509's: a typed, maintained library whose keys and signatures
 * come from Node's own WebCrypto (OpenSSL), so no cryptography here is written in JavaScript.
 * (node-forge does its own RSA in JavaScript; Node can parse certificates but not make them.)
 * Its dependency injection needs the `reflect-metadata` polyfill, loaded here only.
 *
 * Keys are ECDSA P-256. Files holding a private key are written owner-only.
 */
import "reflect-metadata";
import { randomBytes, webcrypto } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { NODE_ID_PATTERN } from "../common/node-id.ts";
import type { PeerRole } from "./peer-auth.ts";
import { TLS_FILES } from "./tls-peer-auth.ts";

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;
/** File names of the CA beside the per-holder directories. */
export const CA_FILES = { cert: "ca.crt", key: "ca.key" } as const;
/** The common name of the operator's certificate, and the name of its TLS directory. */
export const OPERATOR_NAME = "operator";

x509.cryptoProvider.set(webcrypto);

export interface MakeCertificatesOptions {
  /** Where to write: `ca.crt`, `ca.key`, and one TLS directory per node and for the operator. */
  readonly dir: string;
  /** Node ids to make certificates for. */
  readonly nodes: readonly string[];
  /** Host names and IP addresses the node certificates also list (default 127.0.0.1, localhost). */
  readonly hosts?: readonly string[];
  /** Validity of every certificate, days. Default 365. */
  readonly days?: number;
}

/** What `makeCertificates` wrote and what it kept. */
export interface MadeCertificates {
  /** True when it made a new CA; false when it used the one already in `dir`. */
  readonly newAuthority: boolean;
  /** The TLS directory of each holder, by name (node ids and `operator`). */
  readonly directories: ReadonlyMap<string, string>;
}

function pemKey(der: ArrayBuffer): string {
  const body = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN PRIVATE KEY-----\n${body.trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

function serialNumber(): string {
  // A positive 128-bit serial: the top bit clear so DER does not read it as negative.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

function distinguishedName(name: string, role: PeerRole | "ca"): string {
  return role === "ca" ? `CN=${name}, O=sandstore` : `CN=${name}, OU=${role}, O=sandstore`;
}

async function loadAuthority(
  dir: string,
): Promise<{ cert: x509.X509Certificate; key: webcrypto.CryptoKey } | undefined> {
  const certPath = join(dir, CA_FILES.cert);
  const keyPath = join(dir, CA_FILES.key);
  if (!existsSync(certPath) && !existsSync(keyPath)) return undefined;
  const cert = new x509.X509Certificate(await readFile(certPath, "utf8"));
  const pem = await readFile(keyPath, "utf8");
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
  const key = await webcrypto.subtle.importKey("pkcs8", der, ALGORITHM, false, ["sign"]);
  return { cert, key };
}

/**
 * Writes a CA (or reuses the one in `dir`) and a TLS directory per node and for the operator,
 * each holding `ca.crt`, `node.crt` and `node.key`. An existing holder's directory is
 * replaced, which is how certificates are renewed. Throws a RangeError for a node id that
 * is not one, or for the reserved name `operator`.
 */
export async function makeCertificates(o: MakeCertificatesOptions): Promise<MadeCertificates> {
  for (const id of o.nodes) {
    if (!NODE_ID_PATTERN.test(id)) throw new RangeError(`"${id}" is not a node id`);
    if (id === OPERATOR_NAME) throw new RangeError(`"${OPERATOR_NAME}" is reserved for operators`);
  }
  const days = o.days ?? 365;
  if (!Number.isSafeInteger(days) || days < 1 || days > 3650)
    throw new RangeError(`validity of ${days} days is outside 1 to 3650`);
  const hosts = o.hosts ?? ["127.0.0.1", "localhost"];
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  const notBefore = new Date(Date.now() - 60_000); // tolerate a little clock skew
  const notAfter = new Date(Date.now() + days * DAY_MS);

  let authority = await loadAuthority(o.dir);
  const newAuthority = authority === undefined;
  if (!authority) {
    const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialNumber(),
      name: distinguishedName("sandstore cluster CA", "ca"),
      notBefore,
      notAfter: new Date(Date.now() + Math.max(days, 3650) * DAY_MS),
      signingAlgorithm: ALGORITHM,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
      ],
    });
    await writeFile(join(o.dir, CA_FILES.cert), cert.toString("pem"));
    await writeFile(
      join(o.dir, CA_FILES.key),
      pemKey(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)),
      { mode: 0o600 },
    );
    authority = { cert, key: keys.privateKey };
  }

  const directories = new Map<string, string>();
  const holders: Array<[string, PeerRole]> = [
    ...o.nodes.map((id): [string, PeerRole] => [id, "node"]),
    [OPERATOR_NAME, "operator"],
  ];
  for (const [name, role] of holders) {
    const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
    const names = [
      { type: "dns" as const, value: name },
      ...hosts.map((host) => ({
        type: isIP(host) ? ("ip" as const) : ("dns" as const),
        value: host,
      })),
    ];
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: distinguishedName(name, role),
      issuer: authority.cert.subject,
      notBefore,
      notAfter,
      signingAlgorithm: ALGORITHM,
      publicKey: keys.publicKey,
      signingKey: authority.key,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        ...(role === "node" ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      ],
    });
    const dir = join(o.dir, name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, TLS_FILES.ca), authority.cert.toString("pem"));
    await writeFile(join(dir, TLS_FILES.cert), cert.toString("pem"));
    await writeFile(
      join(dir, TLS_FILES.key),
      pemKey(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)),
      { mode: 0o600 },
    );
    directories.set(name, dir);
  }
  return { newAuthority, directories };
}
