import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { makeCertificates } from "./certificate-authority.ts";
import { NODES_AND_OPERATORS, NODES_ONLY } from "./peer-auth.ts";
import { loadTlsDirectory, tlsPeerAuth } from "./tls-peer-auth.ts";

let dir = "";
let foreign = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "sandstore-certs-"));
  foreign = await mkdtemp(join(tmpdir(), "sandstore-certs-foreign-"));
  await makeCertificates({ dir, nodes: ["n1", "n2"] });
  await makeCertificates({ dir: foreign, nodes: ["n1"] });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(foreign, { recursive: true, force: true });
});

test("certificates name their holder and role; keys are owner-only; a second run keeps the CA", async () => {
  const n1 = loadTlsDirectory(join(dir, "n1"), "n1");
  assert.deepEqual(n1.identity, { id: "n1", role: "node" });
  assert.deepEqual(loadTlsDirectory(join(dir, "operator")).identity, {
    id: "operator",
    role: "operator",
  });
  assert.equal((await stat(join(dir, "n1", "node.key"))).mode & 0o077, 0, "key owner-only");
  assert.equal((await stat(join(dir, "ca.key"))).mode & 0o077, 0, "CA key owner-only");
  const subjectAltName = new X509Certificate(n1.cert).subjectAltName ?? "";
  assert.match(subjectAltName, /IP Address:127\.0\.0\.1/);
  const ca = await readFile(join(dir, "ca.crt"));
  const again = await makeCertificates({ dir, nodes: ["n3"] });
  assert.equal(again.newAuthority, false);
  assert.deepEqual(await readFile(join(dir, "ca.crt")), ca, "the CA is reused");
  assert.deepEqual(loadTlsDirectory(join(dir, "n3"), "n3").identity.id, "n3");
  await assert.rejects(makeCertificates({ dir, nodes: ["operator"] }), /reserved/);
  await assert.rejects(makeCertificates({ dir, nodes: ["bad id"] }), /not a node id/);
});

test("a TLS directory that does not check out is refused, naming the file", async () => {
  assert.throws(() => loadTlsDirectory(join(dir, "n1"), "n2"), /names n1, not this node \(n2\)/);
  assert.throws(() => loadTlsDirectory(join(dir, "missing")), /cannot read ca\.crt/);
  const mixed = await mkdtemp(join(tmpdir(), "sandstore-certs-mixed-"));
  try {
    await copyFile(join(dir, "ca.crt"), join(mixed, "ca.crt"));
    await copyFile(join(foreign, "n1", "node.crt"), join(mixed, "node.crt"));
    await copyFile(join(foreign, "n1", "node.key"), join(mixed, "node.key"));
    assert.throws(() => loadTlsDirectory(mixed), /is not signed by the CA/);
    await copyFile(join(dir, "n1", "node.crt"), join(mixed, "node.crt"));
    assert.throws(() => loadTlsDirectory(mixed), /node\.key is not the key of/);
    await writeFile(join(mixed, "node.crt"), "not a certificate");
    assert.throws(() => loadTlsDirectory(mixed), /not a PEM certificate/);
  } finally {
    await rm(mixed, { recursive: true, force: true });
  }
});

test("identify reads the verified client certificate: none, a wrong role, or a node", () => {
  const auth = tlsPeerAuth(loadTlsDirectory(join(dir, "n1"), "n1"));
  const withCert = (cn: string, ou: string) => ({
    metadata: new grpc.Metadata(),
    getAuthContext: () => ({ sslPeerCertificate: { subject: { CN: cn, OU: ou } } }),
  });
  assert.throws(
    () => auth.identify({ metadata: new grpc.Metadata(), getAuthContext: () => ({}) }, NODES_ONLY),
    /no client certificate signed by the cluster's CA/,
  );
  assert.deepEqual(auth.identify(withCert("n2", "node"), NODES_ONLY), { id: "n2", role: "node" });
  assert.throws(() => auth.identify(withCert("operator", "operator"), NODES_ONLY), /role/);
  assert.equal(auth.identify(withCert("operator", "operator"), NODES_AND_OPERATORS).id, "operator");
  assert.throws(() => auth.identify(withCert("n2", "guest"), NODES_AND_OPERATORS), /unit/);
  assert.equal(auth.counters.refusedCallsTotal, 3);
});
