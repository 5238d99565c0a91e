import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CredentialsFileError, readCredentials, saveCredentials } from "./credentials-file.ts";

test("profiles are saved owner-only, replaced by name, and read back; a missing one is named", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sandstore-creds-"));
  try {
    const file = join(dir, "sub", "credentials");
    await saveCredentials(file, "alice", { accessKeyId: "SK1", secret: "s1" });
    await saveCredentials(file, "bob", { accessKeyId: "SK2", secret: "s2=with=equals" });
    await saveCredentials(file, "alice", { accessKeyId: "SK3", secret: "s3" });
    assert.equal((await stat(file)).mode & 0o077, 0, "owner-only");
    assert.deepEqual(readCredentials(file, "alice"), { accessKeyId: "SK3", secret: "s3" });
    assert.deepEqual(readCredentials(file, "bob"), {
      accessKeyId: "SK2",
      secret: "s2=with=equals",
    });
    assert.throws(
      () => readCredentials(file, "carol"),
      (error: Error) =>
        error instanceof CredentialsFileError && /no profile \[carol\]/.test(error.message),
    );
    assert.throws(() => readCredentials(join(dir, "none"), "alice"), CredentialsFileError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
