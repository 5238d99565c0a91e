/**
 * The chaos report's timeline page in a real Chromium (issue 17): every operation of a long
 * run drawn, a role lane per member, overlapping faults' labels in rows of their own, zoom and
 * the jump to the checker's violation working, details on hover, no console errors. A
 * screenshot is saved under results/.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { renderTimeline } from "../src/chaos/timeline.ts";
import type { TimelineData, TimelineOperation } from "../src/chaos/timeline-data.ts";
import { launchChromium } from "./helpers/chromium.ts";

/** A 60 s run of five clients with 60,000 operations, three members and crowded faults. */
function longRun(): TimelineData {
  const operations: TimelineOperation[] = [];
  for (let i = 0; i < 60_000; i++) {
    const start = i;
    const outcome = i % 97 === 0 ? 2 : i % 53 === 0 ? 1 : 0;
    operations.push([
      i + 1,
      i % 5,
      start,
      outcome === 2 ? -1 : start + 4,
      outcome,
      `#${i + 1} set k${i % 3} v${i}`,
    ]);
  }
  const faults = Array.from({ length: 12 }, (_, i) => ({
    // Starting 300 ms apart, each label is wider than the gap: they would overlap on one row.
    startMs: 10_000 + i * 300,
    endMs: 12_000 + i * 300,
    label: `partition halves: n${(i % 3) + 1} | the others (${i})`,
  }));
  const roles = ["n1", "n2", "n3"].map((member, m) => ({
    member,
    changes: [
      { atMs: 0, role: m === 0 ? "leader" : "follower" },
      { atMs: 10_000, role: m === 0 ? "down" : "candidate" },
      { atMs: 11_000, role: m === 1 ? "leader" : m === 0 ? "down" : "follower" },
      { atMs: 20_000, role: m === 1 ? "leader" : "follower" },
    ],
  }));
  return {
    title: "hyperconverged seed 7: FAIL",
    summary: "a synthetic run",
    endMs: 60_000,
    roles,
    operations,
    faults,
    violation: { key: "k1", operationId: 42_001, atMs: 42_004, operationIds: [42_001] },
  };
}

test("the timeline draws every operation, zooms, finds the violation, and names what is under the pointer", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sandstore-timeline-"));
  const browser = await launchChromium();
  try {
    const file = join(dir, "timeline.html");
    await writeFile(file, await renderTimeline(longRun()));
    const { page, problems } = await browser.page();
    await page.setViewportSize({ width: 1400, height: 700 });
    await page.goto(pathToFileURL(file).href);
    // Strings, evaluated in the page: this file is compiled without the DOM's types.
    await page.waitForFunction("document.body.dataset.drawn !== undefined");
    const attribute = async (name: string) =>
      Number(await page.evaluate(`document.body.dataset.${name}`));

    assert.equal(await attribute("drawn"), 60_000, "every operation drawn in the whole-run view");
    assert.ok((await attribute("faultRows")) > 1, "crowded fault labels take several rows");
    await mkdir(resolve("results"), { recursive: true });
    await page.screenshot({ path: resolve("results", "chaos-timeline.png"), fullPage: true });

    await page.click("#zoom-in");
    assert.equal((await attribute("viewEnd")) - (await attribute("viewStart")), 30_000);
    assert.ok((await attribute("drawn")) < 60_000, "zoomed in, fewer operations in view");

    await page.click("#to-violation");
    const [start, end] = [await attribute("viewStart"), await attribute("viewEnd")];
    assert.ok(start <= 42_004 && 42_004 <= end, `the violation in view: ${start} to ${end}`);
    await page.screenshot({
      path: resolve("results", "chaos-timeline-violation.png"),
      fullPage: true,
    });

    // The pointer over the middle of the client lanes names an operation there.
    const box = await page.locator("#timeline").boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height - 30);
    await page.waitForFunction('/^#\\d+ set/.test(document.getElementById("tip").textContent)');

    await page.click("#whole");
    assert.equal(await attribute("drawn"), 60_000);
    assert.deepEqual(problems, [], "no console errors");
  } finally {
    await browser.close();
    await rm(dir, { recursive: true, force: true });
  }
});
