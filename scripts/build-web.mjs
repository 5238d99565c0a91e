// Builds the dashboard (web/) into dist/web/: its TypeScript bundled into one module by
// esbuild, beside the page and its style sheet. Nothing is fetched: the page loads nothing
// from outside the node that serves it.
import { copyFile, mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const out = join(root, "dist", "web");
await mkdir(out, { recursive: true });
// The dashboard, and the chaos report's timeline page (inlined into each report).
await build({
  entryPoints: [join(root, "web", "dashboard.ts"), join(root, "web", "timeline.ts")],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  outdir: out,
  logLevel: "warning",
});
for (const name of ["index.html", "dashboard.css"])
  await copyFile(join(root, "web", name), join(out, name));
