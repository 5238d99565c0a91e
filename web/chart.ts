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

const STATE_COLOURS: Record<string, string> = {
  leader: "#2e7d32",
  follower: "#90caf9",
  candidate: "#ffb300",
  learner: "#ce93d8",
  data: "#b0bec5",
  unreachable: "#c62828",
};

/**
 * Draws one lane per key of `lanes` over [start, end] ms: each span coloured by its state,
 * the lane's name at its left.
 */
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
  const label = 40;
  const laneHeight = Math.max(8, Math.floor(height / Math.max(1, lanes.size)));
  const x = (at: number) => label + ((at - start) / Math.max(1, end - start)) * (width - label);
  context.font = "12px system-ui, sans-serif";
  [...lanes].forEach(([name, spans], lane) => {
    const y = lane * laneHeight;
    context.fillStyle = "#1d2430";
    context.fillText(name, 2, y + laneHeight / 2 + 4);
    spans.forEach((span, i) => {
      const until = spans[i + 1]?.from ?? end;
      context.fillStyle = STATE_COLOURS[span.state] ?? "#eceff1";
      const left = x(Math.max(span.from, start));
      context.fillRect(left, y + 2, Math.max(1, x(until) - left), laneHeight - 4);
    });
  });
}
