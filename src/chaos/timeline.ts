/**
 * A chaos run's timeline as one self-contained HTML page with an SVG: a lane per client with
 * a bar per operation (green ok, grey did not happen, orange unknown outcome), the faults as
 * shaded bands across every lane, and each bar's details on hover. No scripts, no network.
 */
import type { History } from "./history.ts";

/** Bars drawn at most: a longer history is drawn in part, and the page says so. */
const MAX_BARS = 20_000;
const LANE_HEIGHT = 14;
const WIDTH = 1600;

const COLORS = { ok: "#2e9d4f", fail: "#b0b0b0", unknown: "#e8902a" } as const;

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}

export function renderTimeline(history: History, title: string): string {
  const ops = history.operations.slice(0, MAX_BARS);
  const end = Math.max(
    1,
    ...ops.map((op) => op.endMs ?? op.startMs),
    ...history.faults.map((f) => f.endMs ?? f.startMs),
  );
  const clients = [...new Set(ops.map((op) => op.client))].sort((a, b) => a - b);
  const lane = new Map(clients.map((c, i) => [c, i]));
  const top = 30;
  const height = top + clients.length * LANE_HEIGHT + 20;
  const x = (ms: number) => (ms / end) * (WIDTH - 120) + 110;
  const parts: string[] = [];
  history.faults.forEach((f, i) => {
    const x0 = x(f.startMs);
    const x1 = Math.max(x0 + 2, x(f.endMs ?? end));
    parts.push(
      `<rect x="${x0.toFixed(1)}" y="${top - 4}" width="${(x1 - x0).toFixed(1)}" height="${height - top}" fill="#d43" fill-opacity="0.12"><title>${escapeHtml(f.description)}</title></rect>`,
      `<text x="${x0.toFixed(1)}" y="${12 + (i % 2) * 10}" font-size="9" fill="#a22">${escapeHtml(f.description)}</text>`,
    );
  });
  clients.forEach((c, i) => {
    parts.push(
      `<text x="4" y="${top + i * LANE_HEIGHT + 10}" font-size="10">${c >= 1000 ? "final reads" : `client ${c}`}</text>`,
    );
  });
  for (const op of ops) {
    const y = top + lane.get(op.client)! * LANE_HEIGHT;
    const x0 = x(op.startMs);
    const x1 = Math.max(x0 + 1, x(op.endMs ?? end));
    const label = `#${op.id} ${op.kind} ${op.key} ${op.value} -> ${op.outcome}: ${op.detail} (${op.startMs.toFixed(0)}-${op.endMs?.toFixed(0) ?? "?"} ms)`;
    parts.push(
      `<rect x="${x0.toFixed(1)}" y="${y}" width="${(x1 - x0).toFixed(1)}" height="${LANE_HEIGHT - 3}" fill="${COLORS[op.outcome]}"><title>${escapeHtml(label)}</title></rect>`,
    );
  }
  const note =
    history.operations.length > MAX_BARS
      ? `<p>First ${MAX_BARS} of ${history.operations.length} operations drawn.</p>`
      : "";
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family: sans-serif">
<h1 style="font-size: 16px">${escapeHtml(title)}</h1>
<p style="font-size: 12px">Bars: <span style="color:${COLORS.ok}">ok</span>, <span style="color:${COLORS.fail}">did not happen</span>, <span style="color:${COLORS.unknown}">unknown outcome</span>. Red bands: faults. Hover for details. ${(end / 1000).toFixed(1)} s in all.</p>
${note}
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" style="border: 1px solid #ccc">
${parts.join("\n")}
</svg>
</body></html>
`;
}
