/**
 * The dashboard in a real Chromium (Debian's, driven by playwright-core): it loads with no
 * console errors, shows every node, shows a new leader within 5 s of the leader's kill -9,
 * and uploads a file that downloads intact. A screenshot is saved under results/.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { test } from "node:test";
import { launchChromium } from "./helpers/chromium.ts";
import { Cluster } from "./helpers/hyperconverged-cluster.ts";
import { waitFor } from "./helpers/node-process.ts";

test("the dashboard shows every node, a new leader within 5 s of a kill -9, and moves files", async () => {
  const cluster = new Cluster({ http: true });
  const browser = await launchChromium();
  try {
    await cluster.start();
    const leader = await cluster.leader();
    const watched = (leader + 1) % 3;
    const { page, problems } = await browser.page();
    await page.goto(`http://${cluster.httpAddresses[watched]}/`);

    // Every node, and the leader named.
    await page.waitForSelector('tr[data-node="n3"]', { timeout: 20_000 });
    const ids = await page.$$eval("#nodes tbody tr", (rows) =>
      rows.map((row) => row.getAttribute("data-node")),
    );
    assert.deepEqual(ids.sort(), ["n1", "n2", "n3"]);
    const shownLeader = () => page.locator("#leader").textContent();
    await waitFor(async () => (await shownLeader()) === `n${leader + 1}`, "the leader shown");

    // A file uploaded from the browser downloads intact, and its chunks' nodes are shown.
    const data = randomBytes(3 * 1024 * 1024 + 17);
    await page.setInputFiles("#upload", {
      name: "photo.bin",
      mimeType: "application/octet-stream",
      buffer: data,
    });
    await page.waitForSelector('tr[data-file="photo.bin"]', { timeout: 20_000 });
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click('tr[data-file="photo.bin"] a'),
    ]);
    const saved = await download.path();
    assert.ok((await readFile(saved)).equals(data), "the download is the upload");
    await page.click('tr[data-file="photo.bin"] button');
    await waitFor(
      async () =>
        /chunk 0 \(\d+ B\): n\d, n\d, n\d/.test(
          (await page.locator("#placement").textContent()) ?? "",
        ),
      "the chunks' nodes shown",
    );

    await mkdir(resolve("results"), { recursive: true });
    await page.screenshot({ path: resolve("results", "dashboard.png"), fullPage: true });

    // kill -9 the leader: the page names another within 5 s.
    const killedAt = Date.now();
    await cluster.kill(leader);
    await waitFor(
      async () => {
        const shown = (await shownLeader()) ?? "";
        return shown !== `n${leader + 1}` && shown !== "(none)" && shown !== "";
      },
      "a new leader shown",
      5000,
    );
    const shownAfterMs = Date.now() - killedAt;
    assert.ok(shownAfterMs <= 5000, `a new leader shown ${shownAfterMs} ms after the kill`);
    await waitFor(
      async () =>
        (await page.$(`tr[data-node="n${leader + 1}"][data-role="unreachable"]`)) !== null,
      "the killed node shown unreachable",
    );
    await page.screenshot({ path: resolve("results", "dashboard-failover.png"), fullPage: true });
    assert.deepEqual(problems, [], "no console errors");
  } finally {
    await browser.close();
    await cluster.close();
  }
});
