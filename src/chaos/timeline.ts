/**
 * A chaos run's timeline: one self-contained HTML page (no network) drawn by the dashboard's
 * own chart code (web/chart.ts, through web/timeline.ts, bundled at `npm run build`). It shows
 * a lane per member with its role over time, every operation as a bar in its client's lane,
 * the faults as bands with labels that never overlap, and where the checker found a violation.
 * It zooms (wheel, buttons) and pans (drag), and names what is under the pointer.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { CheckResult } from "../raft/testing/linearizability.ts";
import type { History, Outcome } from "./history.ts";
import type { TimelineData, TimelineOutcome } from "./timeline-data.ts";

/** The page's script, as `npm run build` bundles it. */
const TIMELINE_SCRIPT = resolve(import.meta.dirname, "../../dist/web/timeline.js");

/** Characters of an operation's description kept for the page: enough to read, not a log. */
const MAX_TEXT = 160;

const OUTCOME_CODES: Record<Outcome, TimelineOutcome> = { ok: 0, fail: 1, unknown: 2 };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;",
  );
}

/** What the page draws of `history`, with the checker's `verdict` marked when it failed. */
export function timelineData(
  history: History,
  title: string,
  summary: string,
  verdict: CheckResult | undefined,
): TimelineData {
  const end = Math.max(1, history.now(), ...history.faults.map((f) => f.endMs ?? f.startMs));
  const stuck = verdict?.ok === false ? verdict.stuckAt : undefined;
  const stuckOp =
    stuck === undefined ? undefined : history.operations.find((op) => op.id === stuck.id);
  return {
    title,
    summary,
    endMs: end,
    // In member order (n1, n2, ... n10), whichever member answered first.
    roles: [...history.roles]
      .sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))
      .map(([member, changes]) => ({ member, changes })),
    operations: history.operations.map((op) => [
      op.id,
      op.client,
      op.startMs,
      op.endMs ?? -1,
      OUTCOME_CODES[op.outcome],
      `#${op.id} ${op.kind} ${op.key} ${op.value} -> ${op.outcome}: ${op.detail}`.slice(
        0,
        MAX_TEXT,
      ),
    ]),
    faults: history.faults.map((f) => ({
      startMs: f.startMs,
      endMs: f.endMs ?? end,
      label: f.description,
    })),
    ...(verdict?.ok === false &&
      stuckOp && {
        violation: {
          key: verdict.key,
          operationId: stuckOp.id,
          atMs: stuckOp.endMs ?? stuckOp.startMs,
          operationIds: verdict.operations.map((op) => op.id),
        },
      }),
  };
}

/**
 * The timeline page of `data`. Throws an Error naming `npm run build` when the page's script
 * has not been built.
 */
export async function renderTimeline(data: TimelineData): Promise<string> {
  let script: string;
  try {
    script = await readFile(TIMELINE_SCRIPT, "utf8");
  } catch (error) {
    throw new Error(
      `the timeline's script ${TIMELINE_SCRIPT} is missing: run npm run build (${String(error)})`,
    );
  }
  // Inline, the bundle's source map reference points nowhere; a closing tag would end the script.
  script = script.replace(/\n\/\/# sourceMappingURL=.*$/, "");
  if (/<\/script/i.test(script)) throw new Error(`${TIMELINE_SCRIPT} holds a closing script tag`);
  // JSON inside a script element: "<" escaped so no text in it can close the element.
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(data.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 13px system-ui, sans-serif; margin: 12px; color: #1d2430; }
h1 { font-size: 16px; margin: 0 0 4px; }
#controls { margin: 6px 0; display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
#timeline { border: 1px solid #ccd; cursor: grab; display: block; }
#tip { position: fixed; pointer-events: none; background: #fff; border: 1px solid #99a; padding: 3px 6px; max-width: 640px; font-size: 12px; display: none; }
.key { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 8px; vertical-align: middle; }
</style></head>
<body>
<h1>${escapeHtml(data.title)}</h1>
<p id="summary">${escapeHtml(data.summary)}</p>
<p id="legend"></p>
<div id="controls">
<button id="zoom-in" type="button">zoom in</button>
<button id="zoom-out" type="button">zoom out</button>
<button id="whole" type="button">whole run</button>
<button id="to-violation" type="button" hidden>go to the violation</button>
<span id="view"></span>
</div>
<canvas id="timeline"></canvas>
<div id="tip"></div>
<script id="timeline-data" type="application/json">${json}</script>
<script type="module">${script}</script>
</body></html>
`;
}
