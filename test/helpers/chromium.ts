/**
 * Debian's Chromium for tests, driven by playwright-core with DEVELOPERS.md's launch flags and
 * a fresh profile directory, removed at close. Fails naming the package when it is missing.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { commandInstalled } from "../../src/common/command-installed.ts";

const CHROMIUM = "/usr/bin/chromium";
/** DEVELOPERS.md's launch flags: no sandbox (root), no GPU, nothing fetched from outside. */
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A running browser; `close` stops it and removes its profile. */
export interface Browser {
  readonly context: BrowserContext;
  /** A new page whose console errors and uncaught exceptions are collected in `problems`. */
  page(): Promise<{ page: Page; problems: string[] }>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  // .ci/run installs it; a machine without it fails here, saying what to install.
  assert.ok(
    await commandInstalled("chromium"),
    "needs Debian's chromium: apt-get install chromium",
  );
  // A fresh profile directory: playwright gives it to Chromium as --user-data-dir.
  const profile = await mkdtemp(join(tmpdir(), "sandstore-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_FLAGS,
    acceptDownloads: true,
  });
  return {
    context,
    async page() {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      page.on("pageerror", (error) => problems.push(error.message));
      return { page, problems };
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
