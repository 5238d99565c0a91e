// Builds the FUSE bridge (native/fuse-bridge.c, binding.gyp) into build/Release when
// libfuse3's headers are installed (Debian: fuse3 libfuse3-dev pkg-config), with the node-gyp
// npm ships. Without them it says what `sandstore mount` needs and succeeds: every other
// command works without the bridge. Run by `npm install` / `npm ci`, and by npm run build:fuse.
import { execFileSync, spawnSync } from "node:child_process";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const hasFuse = spawnSync("pkg-config", ["--exists", "fuse3"]).status === 0;
if (!hasFuse) {
  console.warn(
    "sandstore: libfuse3's headers are missing, so sandstore mount is not built: apt-get install fuse3 libfuse3-dev pkg-config, then npm run build:fuse",
  );
  process.exit(0);
}
// npm names its own node-gyp to the scripts it runs; by hand, the one on PATH.
const nodeGyp = process.env.npm_config_node_gyp;
const [command, args] = nodeGyp
  ? [process.execPath, [nodeGyp, "rebuild"]]
  : ["node-gyp", ["rebuild"]];
execFileSync(command, args, { cwd: root, stdio: "inherit" });
