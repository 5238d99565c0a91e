/**
 * The chaos report's timeline page (src/chaos/timeline.ts embeds this bundle and the run's
 * data): role lanes per member, a bar per operation in its client's lane, fault bands with
 * labels in rows of their own, and the checker's violation marked. Drawn with the dashboard's
 * chart code; zoomed with the wheel or the buttons, panned by dragging, every part named on
 * hover. The body's data attributes say what is drawn, for tests and for the curious.
 */
import type { TimelineData } from "../src/chaos/timeline-data.ts";
import {
  type Area,
  BAND_FONT,
  type Bar,
  drawBands,
  drawBars,
  drawLanesIn,
  headerRows,
  placeBands,
  type Span,
  STATE_COLOURS,
  timeToX,
} from "./chart.ts";
import { element } from "./page-element.ts";

const OUTCOME_COLOURS = ["#2e9d4f", "#b0b0b0", "#e8902a"] as const;
const OUTCOME_NAMES = ["ok", "did not happen", "unknown outcome"] as const;
const FAULT_COLOUR = "#c62828";
const LABEL_WIDTH = 90;
const ROLE_LANE = 16;
const CLIENT_LANE = 14;
const HEADER_ROW = 14;
const AXIS = 18;
/** Narrowest view, ms: zooming further shows nothing new. */
const MIN_VIEW_MS = 5;

const data = JSON.parse(element("timeline-data", HTMLScriptElement).text) as TimelineData;
const canvas = element("timeline", HTMLCanvasElement);
const tip = element("tip", HTMLDivElement);
const context = canvas.getContext("2d");
if (!context) throw new Error("this browser draws no 2D canvas");

const outlined = new Set(data.violation?.operationIds ?? []);
const clients = [...new Set(data.operations.map((op) => op[1]))].sort((a, b) => a - b);
const laneOf = new Map(clients.map((client, i) => [client, i]));
/** Each client's bars, built once: the view changes, the bars do not. */
const rows: Bar[][] = clients.map(() => []);
for (const [id, client, start, end, outcome] of data.operations)
  rows[laneOf.get(client) ?? 0]?.push({
    from: start,
    to: end < 0 ? data.endMs : end,
    colour: OUTCOME_COLOURS[outcome],
    outline: outlined.has(id),
  });
const lanes = new Map<string, Span[]>(
  data.roles.map((r) => [r.member, r.changes.map((c) => ({ from: c.atMs, state: c.role }))]),
);
const bands = data.faults.map((f) => ({ from: f.startMs, to: f.endMs, label: f.label }));

let view = { start: 0, end: data.endMs };

/** The parts of the canvas, for the view now: the header grows with the labels it needs. */
function layout(width: number) {
  const plotX = LABEL_WIDTH;
  const plotWidth = width - LABEL_WIDTH - 8;
  const probe: Area = { x: plotX, y: 0, width: plotWidth, height: 0 };
  context?.save();
  if (context) context.font = BAND_FONT;
  const placed = placeBands(
    (text) => context?.measureText(text).width ?? text.length * 6,
    probe,
    bands,
    view.start,
    view.end,
  );
  context?.restore();
  const header = Math.max(1, headerRows(placed)) * HEADER_ROW + 4;
  const rolesY = header + AXIS;
  const clientsY = rolesY + lanes.size * ROLE_LANE + 8;
  const height = clientsY + clients.length * CLIENT_LANE + 4;
  return { plotX, plotWidth, placed, header, rolesY, clientsY, height };
}

function clientName(client: number): string {
  return client >= 1000 ? "final reads" : `client ${client}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** A step for axis ticks: 1, 2 or 5 times a power of ten, about 8 ticks a view. */
function tickStep(span: number): number {
  const rough = span / 8;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= rough) ?? rough;
}

function draw(): void {
  if (!context) return;
  const width = Math.max(600, window.innerWidth - 30);
  const parts = layout(width);
  canvas.width = width;
  canvas.height = parts.height;
  context.clearRect(0, 0, width, parts.height);
  const plot = (y: number, height: number): Area => ({
    x: parts.plotX,
    y,
    width: parts.plotWidth,
    height,
  });
  // The time axis, under the fault labels.
  context.fillStyle = "#556";
  context.strokeStyle = "#e3e6ea";
  context.font = "11px system-ui, sans-serif";
  const step = tickStep(view.end - view.start);
  for (let at = Math.ceil(view.start / step) * step; at <= view.end; at += step) {
    const x = timeToX(plot(0, 0), view.start, view.end, at);
    context.fillText(seconds(at), x + 2, parts.header + 12);
    context.beginPath();
    context.moveTo(x, parts.header);
    context.lineTo(x, parts.height);
    context.stroke();
  }
  drawLanesIn(
    context,
    { x: 0, y: parts.rolesY, width: parts.plotX + parts.plotWidth, height: lanes.size * ROLE_LANE },
    lanes,
    view.start,
    view.end,
    LABEL_WIDTH,
  );
  context.fillStyle = "#1d2430";
  context.font = "12px system-ui, sans-serif";
  clients.forEach((client, i) => {
    context.fillText(clientName(client), 2, parts.clientsY + i * CLIENT_LANE + 11);
  });
  const drawn = drawBars(
    context,
    plot(parts.clientsY, clients.length * CLIENT_LANE),
    rows,
    view.start,
    view.end,
    CLIENT_LANE,
  );
  drawBands(context, plot(parts.rolesY, parts.height - parts.rolesY), parts.placed, {
    y: 0,
    rowHeight: HEADER_ROW,
    colour: FAULT_COLOUR,
  });
  const violation = data.violation;
  if (violation && violation.atMs >= view.start && violation.atMs <= view.end) {
    const x = timeToX(plot(0, 0), view.start, view.end, violation.atMs);
    context.strokeStyle = "#b71c1c";
    context.lineWidth = 2;
    context.beginPath();
    context.moveTo(x, parts.header);
    context.lineTo(x, parts.height);
    context.stroke();
    context.lineWidth = 1;
    context.fillStyle = "#b71c1c";
    context.font = "bold 12px system-ui, sans-serif";
    context.fillText(
      `violation: key ${violation.key}, #${violation.operationId}`,
      x + 4,
      parts.rolesY - 2,
    );
  }
  element("view", HTMLSpanElement).textContent =
    `${seconds(view.start)} to ${seconds(view.end)} of ${seconds(data.endMs)}; ${drawn} of ${data.operations.length} operations in view`;
  document.body.dataset.drawn = String(drawn);
  document.body.dataset.viewStart = String(view.start);
  document.body.dataset.viewEnd = String(view.end);
  document.body.dataset.faultRows = String(headerRows(parts.placed));
}

/** Sets the view to [start, end], kept within the run and no narrower than MIN_VIEW_MS. */
function show(start: number, end: number): void {
  const span = Math.min(data.endMs, Math.max(MIN_VIEW_MS, end - start));
  const from = Math.min(Math.max(0, start), data.endMs - span);
  view = { start: from, end: from + span };
  draw();
}

/** Zooms by `factor` (< 1 in) keeping time `at` where it is on screen. */
function zoom(factor: number, at = (view.start + view.end) / 2): void {
  show(at - (at - view.start) * factor, at + (view.end - at) * factor);
}

/** The time under canvas x, and the layout it was read against. */
function timeAt(x: number): number {
  const parts = layout(canvas.width);
  return view.start + ((x - parts.plotX) / parts.plotWidth) * (view.end - view.start);
}

/** What is under the pointer at canvas (x, y), as text; empty for nothing. */
function describe(x: number, y: number): string {
  const parts = layout(canvas.width);
  if (x < parts.plotX) return "";
  const at = timeAt(x);
  const slack = ((view.end - view.start) / parts.plotWidth) * 3;
  if (y >= parts.clientsY) {
    const client = clients[Math.floor((y - parts.clientsY) / CLIENT_LANE)];
    if (client === undefined) return "";
    const hit = data.operations.find(
      (op) =>
        op[1] === client && op[2] - slack <= at && (op[3] < 0 ? data.endMs : op[3]) + slack >= at,
    );
    return hit ? `${hit[5]} (${seconds(hit[2])} to ${hit[3] < 0 ? "never" : seconds(hit[3])})` : "";
  }
  if (y >= parts.rolesY) {
    const member = data.roles[Math.floor((y - parts.rolesY) / ROLE_LANE)];
    const change = member?.changes.filter((c) => c.atMs <= at).at(-1);
    return member && change ? `${member.member}: ${change.role} from ${seconds(change.atMs)}` : "";
  }
  const fault = parts.placed.find(
    (p) => p.row === Math.floor(y / HEADER_ROW) && x >= p.left && x <= p.right + 200,
  );
  return fault
    ? `${fault.band.label} (${seconds(fault.band.from)} to ${seconds(fault.band.to)})`
    : "";
}

canvas.addEventListener(
  "wheel",
  (event) => {
    event.preventDefault();
    zoom(event.deltaY < 0 ? 0.8 : 1.25, timeAt(event.offsetX));
  },
  { passive: false },
);
let dragFrom: { x: number; start: number; end: number } | undefined;
canvas.addEventListener("mousedown", (event) => {
  dragFrom = { x: event.offsetX, start: view.start, end: view.end };
});
window.addEventListener("mouseup", () => {
  dragFrom = undefined;
});
canvas.addEventListener("mousemove", (event) => {
  if (dragFrom) {
    const parts = layout(canvas.width);
    const shift =
      ((event.offsetX - dragFrom.x) / parts.plotWidth) * (dragFrom.end - dragFrom.start);
    show(dragFrom.start - shift, dragFrom.end - shift);
    return;
  }
  const text = describe(event.offsetX, event.offsetY);
  tip.style.display = text ? "block" : "none";
  tip.textContent = text;
  tip.style.left = `${event.clientX + 12}px`;
  tip.style.top = `${event.clientY + 12}px`;
});
canvas.addEventListener("mouseleave", () => {
  tip.style.display = "none";
});
element("zoom-in", HTMLButtonElement).addEventListener("click", () => zoom(0.5));
element("zoom-out", HTMLButtonElement).addEventListener("click", () => zoom(2));
element("whole", HTMLButtonElement).addEventListener("click", () => show(0, data.endMs));
const toViolation = element("to-violation", HTMLButtonElement);
if (data.violation) {
  const at = data.violation.atMs;
  toViolation.hidden = false;
  toViolation.addEventListener("click", () => show(at - 1000, at + 1000));
}
window.addEventListener("resize", draw);

const legend = element("legend", HTMLParagraphElement);
const key = (colour: string, name: string) => {
  const swatch = document.createElement("span");
  swatch.className = "key";
  swatch.style.background = colour;
  legend.append(swatch, name);
};
OUTCOME_NAMES.forEach((name, i) => {
  key(OUTCOME_COLOURS[i] ?? "#000", name);
});
for (const role of ["leader", "follower", "candidate", "down", "paused", "unreachable"])
  key(STATE_COLOURS[role] ?? "#000", role);
key(FAULT_COLOUR, "fault (band; labels above)");
legend.append(". Wheel or buttons to zoom, drag to pan, hover for details.");
draw();
