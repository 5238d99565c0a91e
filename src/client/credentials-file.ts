/**
 * The credentials file: users' access keys and secrets on a client machine, one profile per
 * user, kept as AWS keeps its own (`~/.sandstore/credentials`, owner-only):
 *
 *   [alice]
 *   access_key_id = SK...
 *   secret = ...
 *
 * `sandstore user add --save` writes a profile; `--user NAME` and `connect(seeds, { profile })`
 * read one.
 */
import { readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { ClientCredentials } from "../transport/file-service-api.ts";

/** The file is missing, unreadable, or lacks the profile: the message names which and where. */
export class CredentialsFileError extends Error {
  override readonly name = "CredentialsFileError";
}

/** `~/.sandstore/credentials`. */
export function defaultCredentialsFile(): string {
  return join(homedir(), ".sandstore", "credentials");
}

const SECTION = /^\s*\[([^\]]+)\]\s*$/;

/** The credentials of `profile` in `file`. Throws CredentialsFileError. */
export function readCredentials(file: string, profile: string): ClientCredentials {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new CredentialsFileError(
      `cannot read credentials file ${file}: ${(error as Error).message}`,
    );
  }
  let current = "";
  const fields = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const section = SECTION.exec(line);
    if (section) {
      current = section[1]?.trim() ?? "";
      continue;
    }
    const at = line.indexOf("=");
    if (current === profile && at > 0)
      fields.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const accessKeyId = fields.get("access_key_id");
  const secret = fields.get("secret");
  if (!accessKeyId || !secret)
    throw new CredentialsFileError(
      `${file} has no profile [${profile}] with access_key_id and secret`,
    );
  return { accessKeyId, secret };
}

/** Adds `profile` to `file` (made owner-only), replacing a profile of the same name. */
export async function saveCredentials(
  file: string,
  profile: string,
  credentials: ClientCredentials,
): Promise<void> {
  let text = "";
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const kept: string[] = [];
  let skipping = false;
  for (const line of text.split("\n")) {
    const section = SECTION.exec(line);
    if (section) skipping = section[1]?.trim() === profile;
    if (!skipping && line.trim() !== "") kept.push(line);
  }
  kept.push(
    `[${profile}]`,
    `access_key_id = ${credentials.accessKeyId}`,
    `secret = ${credentials.secret}`,
  );
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${kept.join("\n")}\n`, { mode: 0o600 });
}
