// Adds the lock entries npm 11 leaves out behind a registry that serves only this platform's
// optional binaries (npm/cli#9342): without them `npm ci` reports "Missing: <pkg>@ from lock
// file" and refuses to install. Each added entry carries the package's version, os and cpu, so
// npm ci sees the lock in sync and skips the package on every platform it is not for.
// Run after `npm install` changes package-lock.json: `node scripts/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from "node:fs";

/** The platform a binary package is for, read from its name (`cli-darwin-arm64`, `buf-linux-armv7`). */
function platformOf(name) {
  const os = ["android", "darwin", "linux", "win32", "freebsd"].find((o) => name.includes(`-${o}`));
  const cpu = ["arm64", "armv7", "arm", "x64", "ia32"].find((c) =>
    new RegExp(`-${c}(-|$)`).test(name),
  );
  if (!os || !cpu) throw new Error(`cannot tell the platform of ${name}`);
  return {
    cpu: [cpu === "armv7" ? "arm" : cpu],
    os: [os],
    ...(name.endsWith("-musl") && { libc: ["musl"] }),
  };
}

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;
let added = 0;
for (const [key, entry] of Object.entries(packages)) {
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    const nested = `${key}/node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (packages[nested] || packages[hoisted]) continue;
    packages[hoisted] = {
      version: entry.optionalDependencies[name],
      ...platformOf(name),
      dev: entry.dev === true,
      optional: true,
    };
    added++;
  }
}
const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) =>
    a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0,
  ),
);
writeFileSync(path, `${JSON.stringify({ ...lock, packages: sorted }, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} entries`);
