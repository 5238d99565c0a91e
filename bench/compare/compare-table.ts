/**
 * The comparison's one table: for each workload the figure of each system, Sandstore over its
 * peer (MooseFS for files, etcd for keys and metadata) and over the physical limit (fio), as a
 * terminal table, a Markdown table and an SVG bar chart.
 */

/** The systems of a row, in column order. */
export const SYSTEMS = ["sandstore", "single", "disaggregated", "moosefs", "etcd"] as const;
export type SystemName = (typeof SYSTEMS)[number];

export const SYSTEM_TITLES: Record<SystemName, string> = {
  sandstore: "Sandstore 3 nodes R=3",
  single: "Sandstore single",
  disaggregated: "Sandstore disaggregated 1+3",
  moosefs: "MooseFS goal 3",
  etcd: "etcd 3 members",
};

export interface CompareRow {
  readonly workload: string;
  /** Unit of every figure in the row, higher is better: "MiB/s", "files/s", "ops/s". */
  readonly unit: string;
  /** Each system's figure; absent when it does not run this workload or failed to. */
  readonly figures: Partial<Record<SystemName, number>>;
  /** Which system Sandstore (3 nodes) is compared with. */
  readonly peer?: SystemName;
  /** The physical limit for Sandstore (3 nodes), from fio, and how it was derived. */
  readonly limit?: { readonly value: number; readonly note: string };
  /** The performance goal this row is held to, if any. */
  readonly goal?: Goal;
}

/**
 * A goal as ratios: Sandstore (3 nodes) at least `peerAtLeast` times its peer and, when set,
 * at least `limitAtLeast` times the limit. `whatLimits` links the page that says, with the
 * profile, what holds the figure back.
 */
export interface Goal {
  readonly peerAtLeast: number;
  readonly limitAtLeast?: number;
  readonly whatLimits: string;
}

/** Whether the row meets its goal; undefined without a goal or with a figure missing. */
export function goalMet(row: CompareRow): boolean | undefined {
  if (!row.goal) return undefined;
  const peer = peerRatio(row);
  if (peer === undefined) return undefined;
  if (row.goal.limitAtLeast === undefined) return peer >= row.goal.peerAtLeast;
  const limit = limitRatio(row);
  if (limit === undefined) return undefined;
  return peer >= row.goal.peerAtLeast && limit >= row.goal.limitAtLeast;
}

/** The rows that have a goal, as a Markdown table: the goal, this run's ratios, met or not. */
export function formatGoalsTable(rows: readonly CompareRow[]): string {
  const lines = [
    "| workload | goal | this run | met | what limits it |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const row of rows) {
    if (!row.goal) continue;
    const peer = row.peer === "etcd" ? "etcd" : "MooseFS";
    const goal = [
      `${row.goal.peerAtLeast.toFixed(1)}x ${peer}`,
      ...(row.goal.limitAtLeast === undefined
        ? []
        : [`${row.goal.limitAtLeast.toFixed(1)}x the limit`]),
    ].join(" and ");
    const run = [
      `${formatRatio(peerRatio(row))} ${peer}`,
      ...(row.goal.limitAtLeast === undefined ? [] : [`${formatRatio(limitRatio(row))} limit`]),
    ].join(", ");
    const met = goalMet(row);
    const verdict = met === undefined ? "not measured" : met ? "**yes**" : "no";
    lines.push(
      `| ${row.workload} | ${goal} | ${run} | ${verdict} | ${met ? "-" : row.goal.whatLimits} |`,
    );
  }
  return lines.join("\n");
}

/** Sandstore (3 nodes) over its peer, or undefined when either figure is missing. */
export function peerRatio(row: CompareRow): number | undefined {
  const ours = row.figures.sandstore;
  const theirs = row.peer ? row.figures[row.peer] : undefined;
  return ours !== undefined && theirs !== undefined && theirs > 0 ? ours / theirs : undefined;
}

/** Sandstore (3 nodes) over the limit, or undefined. */
export function limitRatio(row: CompareRow): number | undefined {
  const ours = row.figures.sandstore;
  return ours !== undefined && row.limit && row.limit.value > 0
    ? ours / row.limit.value
    : undefined;
}

/** A figure with about three significant digits: 1234 → "1234", 12.345 → "12.3", 0.5 → "0.50". */
export function formatFigure(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "-";
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function formatRatio(value: number | undefined): string {
  return value === undefined ? "-" : `${value.toFixed(2)}x`;
}

/** The cells of each row, header first; shared by the terminal and Markdown tables. */
export function tableCells(rows: readonly CompareRow[]): string[][] {
  const header = [
    "workload",
    "unit",
    ...SYSTEMS.map((s) => SYSTEM_TITLES[s]),
    "limit (fio)",
    "Sandstore/peer",
    "Sandstore/limit",
  ];
  return [
    header,
    ...rows.map((row) => [
      row.workload,
      row.unit,
      ...SYSTEMS.map((s) => formatFigure(row.figures[s])),
      row.limit ? `${formatFigure(row.limit.value)} (${row.limit.note})` : "-",
      row.peer
        ? `${formatRatio(peerRatio(row))} ${row.peer === "moosefs" ? "MooseFS" : "etcd"}`
        : "-",
      formatRatio(limitRatio(row)),
    ]),
  ];
}

/** Aligned columns for a terminal. */
export function formatTerminalTable(rows: readonly CompareRow[]): string {
  const cells = tableCells(rows);
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join("  "),
    )
    .join("\n");
}

/** A GitHub Markdown table. */
export function formatMarkdownTable(rows: readonly CompareRow[]): string {
  const cells = tableCells(rows);
  const escapeCell = (cell: string) => cell.replace(/\|/g, "\\|");
  const line = (row: readonly string[]) => `| ${row.map(escapeCell).join(" | ")} |`;
  const align = cells[0]!.map((_, i) => (i < 2 ? "---" : "---:"));
  return [line(cells[0]!), line(align), ...cells.slice(1).map(line)].join("\n");
}

const COLORS: Record<SystemName, string> = {
  sandstore: "#2b6cb0",
  single: "#90cdf4",
  disaggregated: "#553c9a",
  moosefs: "#dd6b20",
  etcd: "#38a169",
};

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * A horizontal bar chart: one group per workload, one bar per system, each as a share of the
 * best figure in its row (units differ between rows), labelled with the figure itself.
 */
export function renderChart(rows: readonly CompareRow[], title: string): string {
  const barHeight = 14;
  const labelWidth = 260;
  const barSpace = 420;
  const width = labelWidth + barSpace + 120;
  const parts: string[] = [];
  let y = 40;
  for (const row of rows) {
    const present = SYSTEMS.filter((s) => row.figures[s] !== undefined);
    const best = Math.max(...present.map((s) => row.figures[s]!), Number.MIN_VALUE);
    parts.push(
      `<text x="8" y="${y + 12}" font-size="13" font-weight="bold">${escapeXml(row.workload)} (${escapeXml(row.unit)})</text>`,
    );
    y += 18;
    for (const system of present) {
      const value = row.figures[system]!;
      const length = Math.max(1, (value / best) * barSpace);
      parts.push(
        `<text x="${labelWidth - 6}" y="${y + 11}" font-size="11" text-anchor="end">${SYSTEM_TITLES[system]}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${length.toFixed(1)}" height="${barHeight}" fill="${COLORS[system]}"/>`,
        `<text x="${labelWidth + length + 6}" y="${y + 11}" font-size="11">${formatFigure(value)}</text>`,
      );
      y += barHeight + 4;
    }
    y += 10;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
