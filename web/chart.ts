/**
 * Drawing on a canvas, with no library: line charts of recent samples and a lane per node of
 * what it was over time. Pure functions of the data and the canvas; callers redraw on change.
 */

/** One sample of several series at a time (ms since the epoch). */
export interface Sample {
  readonly at: number;
  readonly values: readonly number[];
}

/** Colours of series and lanes, in order; chosen to be told apart in print too. */
export const PALETTE = ["#1565c0", "#e65100", "#2e7d32", "#6a1b9a", "#c62828", "#00838f"];

/** Draws `samples` as one line per series over the last `windowMs`, with the axis maximum. */
export function drawLines(canvas: HTMLCanvasElement, samples: readonly Sample[], windowMs: number) {
  const context = canvas.getContext("2d");
  if (!context) return;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const now = samples.at(-1)?.at ?? Date.now();
  const visible = samples.filter((sample) => sample.at >= now - windowMs);
  const max = Math.max(1e-9, ...visible.flatMap((sample) => sample.values));
  context.strokeStyle = "#e3e6ea";
  context.beginPath();
  context.moveTo(0, height - 0.5);
  context.lineTo(width, height - 0.5);
  context.stroke();
  const series = visible[0]?.values.length ?? 0;
  for (let s = 0; s < series; s++) {
    context.strokeStyle = PALETTE[s % PALETTE.length] ?? "#000";
    context.lineWidth = 2;
    context.beginPath();
    visible.forEach((sample, i) => {
      const x = width - ((now - sample.at) / windowMs) * width;
      const y = height - 4 - ((sample.values[s] ?? 0) / max) * (height - 20);
      if (i === 0) context.moveTo(x, y);
      else context.lineTo(x, y);
    });
    context.stroke();
  }
  context.fillStyle = "#556";
  context.font = "12px system-ui, sans-serif";
  context.fillText(`max ${max < 10 ? max.toFixed(2) : max.toFixed(0)}`, 4, 12);
}

/** What one lane (a node) was from `from` until the next span starts, or until now. */
export interface Span {
  readonly from: number;
  /** `leader`, `follower`, `candidate`, `unreachable`, ... */
  readonly state: string;
}

/** Colours of the states a node's lane shows; one not named here is drawn light grey. */
export const STATE_COLOURS: Readonly<Record<string, string>> = {
  leader: "#2e7d32",
  follower: "#90caf9",
  candidate: "#ffb300",
  "pre-candidate": "#ffe082",
  learner: "#ce93d8",
  data: "#b0bec5",
  unreachable: "#c62828",
  paused: "#8d6e63",
  down: "#37474f",
};

/** A rectangle of a canvas, in canvas pixels. */
export interface Area {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The x of time `at` in `area`, for a view of [start, end]. */
export function timeToX(area: Area, start: number, end: number, at: number): number {
  return area.x + ((at - start) / Math.max(1e-9, end - start)) * area.width;
}

/**
 * Draws one lane per key of `lanes` over [start, end] (any time unit) in `area`: each span
 * coloured by its state, the lane's name in the `labelWidth` pixels at the area's left.
 * Lanes share the area's height equally, at least 8 px each.
 */
export function drawLanesIn(
  context: CanvasRenderingContext2D,
  area: Area,
  lanes: ReadonlyMap<string, readonly Span[]>,
  start: number,
  end: number,
  labelWidth = 40,
): void {
  const laneHeight = Math.max(8, Math.floor(area.height / Math.max(1, lanes.size)));
  const plot = { ...area, x: area.x + labelWidth, width: area.width - labelWidth };
  const x = (at: number) =>
    Math.min(plot.x + plot.width, Math.max(plot.x, timeToX(plot, start, end, at)));
  context.font = "12px system-ui, sans-serif";
  [...lanes].forEach(([name, spans], lane) => {
    const y = area.y + lane * laneHeight;
    context.fillStyle = "#1d2430";
    context.fillText(name, area.x + 2, y + laneHeight / 2 + 4);
    spans.forEach((span, i) => {
      const until = spans[i + 1]?.from ?? end;
      if (until < start || span.from > end) return;
      context.fillStyle = STATE_COLOURS[span.state] ?? "#eceff1";
      const left = x(span.from);
      context.fillRect(left, y + 2, Math.max(1, x(until) - left), laneHeight - 4);
    });
  });
}

/** Draws `lanes` (see `drawLanesIn`) over the whole of `canvas`. */
export function drawLanes(
  canvas: HTMLCanvasElement,
  lanes: ReadonlyMap<string, readonly Span[]>,
  start: number,
  end: number,
) {
  const context = canvas.getContext("2d");
  if (!context) return;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  drawLanesIn(context, { x: 0, y: 0, width, height }, lanes, start, end);
}

/** One bar of a row: an interval and its colour; `outline` draws a dark border around it. */
export interface Bar {
  readonly from: number;
  readonly to: number;
  readonly colour: string;
  readonly outline?: boolean;
}

/**
 * Draws rows of bars over [start, end] in `area`, `rowHeight` pixels a row, skipping bars
 * outside the view; a bar is at least 1 px wide. Returns how many bars it drew.
 */
export function drawBars(
  context: CanvasRenderingContext2D,
  area: Area,
  rows: readonly (readonly Bar[])[],
  start: number,
  end: number,
  rowHeight: number,
): number {
  let drawn = 0;
  rows.forEach((bars, row) => {
    const y = area.y + row * rowHeight;
    for (const bar of bars) {
      if (bar.to < start || bar.from > end) continue;
      const left = Math.max(area.x, timeToX(area, start, end, bar.from));
      const right = Math.min(area.x + area.width, timeToX(area, start, end, bar.to));
      context.fillStyle = bar.colour;
      context.fillRect(left, y + 1, Math.max(1, right - left), rowHeight - 3);
      if (bar.outline) {
        context.strokeStyle = "#1d2430";
        context.lineWidth = 1;
        context.strokeRect(left, y + 1, Math.max(1, right - left), rowHeight - 3);
      }
      drawn++;
    }
  });
  return drawn;
}

/**
 * Rows for labels laid along one axis so none overlaps another in its row: each item, in
 * order of `from`, goes in the first row whose last label ends before it starts. Returns each
 * item's row, in the items' order. Pure, for any unit.
 */
export function packRows(
  items: readonly { readonly from: number; readonly to: number }[],
): number[] {
  const order = items
    .map((_, i) => i)
    .sort((a, b) => (items[a]?.from ?? 0) - (items[b]?.from ?? 0));
  const rowEnds: number[] = [];
  const rows = new Array<number>(items.length).fill(0);
  for (const i of order) {
    const item = items[i];
    if (!item) continue;
    let row = rowEnds.findIndex((endOfRow) => endOfRow < item.from);
    if (row < 0) row = rowEnds.length;
    rowEnds[row] = item.to;
    rows[i] = row;
  }
  return rows;
}

/** A shaded span of time across a chart, with a label (a fault, an event). */
export interface Band {
  readonly from: number;
  readonly to: number;
  readonly label: string;
}

/** A band laid out for drawing: its pixels and its label's header row. */
export interface PlacedBand {
  readonly band: Band;
  readonly left: number;
  readonly right: number;
  readonly row: number;
}

/**
 * Lays out the `bands` in view of [start, end] over `area`: their pixel extents, and header
 * rows for their labels (as wide as `measure` says, plus a gap) so no two labels overlap.
 */
export function placeBands(
  measure: (text: string) => number,
  area: Area,
  bands: readonly Band[],
  start: number,
  end: number,
): PlacedBand[] {
  const visible = bands.filter((band) => band.to >= start && band.from <= end);
  const extents = visible.map((band) => ({
    band,
    left: Math.max(area.x, timeToX(area, start, end, band.from)),
    right: Math.min(area.x + area.width, timeToX(area, start, end, band.to)),
  }));
  const rows = packRows(
    extents.map((e) => ({ from: e.left, to: e.left + measure(e.band.label) + 8 })),
  );
  return extents.map((e, i) => ({ ...e, row: rows[i] ?? 0 }));
}

/** Header rows `placed` needs. */
export function headerRows(placed: readonly PlacedBand[]): number {
  return placed.reduce((rows, p) => Math.max(rows, p.row + 1), 0);
}

/**
 * Draws placed bands: each a translucent `colour` rectangle over `area`, and its label in the
 * header row `placeBands` gave it, from `header.y`, `header.rowHeight` px a row.
 */
export function drawBands(
  context: CanvasRenderingContext2D,
  area: Area,
  placed: readonly PlacedBand[],
  header: { readonly y: number; readonly rowHeight: number; readonly colour: string },
): void {
  context.font = BAND_FONT;
  for (const p of placed) {
    const width = Math.max(2, p.right - p.left);
    context.globalAlpha = 0.14;
    context.fillStyle = header.colour;
    context.fillRect(p.left, area.y, width, area.height);
    context.globalAlpha = 1;
    const y = header.y + p.row * header.rowHeight;
    context.fillRect(p.left, y + header.rowHeight - 3, width, 2);
    context.fillText(p.band.label, p.left + 2, y + header.rowHeight - 5);
  }
}

/** The font of band labels: what `placeBands`' measure must measure in. */
export const BAND_FONT = "11px system-ui, sans-serif";
