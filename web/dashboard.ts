/**
 * The dashboard a node serves at `/`: the cluster's status as server-sent events from
 * `/api/v1/events` (twice a second), drawn as a table of nodes, throughput and latency
 * charts, a lane per node of its role over time, maintenance progress, and a file browser
 * over the REST API. Works for every topology: rows show each node's roles.
 */
import { drawLanes, drawLines, type Sample, type Span } from "./chart.ts";
import { element } from "./page-element.ts";

/** The parts of `/api/v1/cluster/status` drawn here (see docs/http.md). */
interface NodeRow {
  id: string;
  address: string;
  role: string;
  roles: string[];
  term: number;
  commitIndex: number;
  appliedIndex: number;
  live: boolean;
  memberLive: boolean;
  draining: boolean;
  chunkCount: number;
  chunkBytes: number;
  diskFreeBytes: number;
  clientBytesWritten: number;
  clientBytesRead: number;
  fileOperationsTotal: number;
  fileOperationSecondsTotal: number;
  httpAddress: string;
  maintenance?: Record<string, number | boolean>;
}

interface ClusterStatus {
  nodes: NodeRow[];
  leaderId: string;
  topology: string;
  chunkSize: number;
  replicationFactor: number;
  writeQuorum: number;
}

/** How far back the charts and the lanes reach. */
const WINDOW_MS = 120_000;
/** Samples kept: a window's worth at two a second, with room. */
const MAX_SAMPLES = 600;
/** Elections listed, newest first. */
const MAX_ELECTIONS = 50;

function text(tag: string, content: string): HTMLElement {
  const cell = document.createElement(tag);
  cell.textContent = content;
  return cell;
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

const throughput: Sample[] = [];
const latency: Sample[] = [];
const lanes = new Map<string, Span[]>();
const elections: string[] = [];
let previous: { at: number; status: ClusterStatus } | undefined;
let lastLeader = "";

function keep<T>(list: T[], max: number): void {
  if (list.length > max) list.splice(0, list.length - max);
}

function renderNodes(status: ClusterStatus): void {
  const body = element("nodes", HTMLTableElement).tBodies[0];
  if (!body) return;
  const leaderCommit = status.nodes.find((n) => n.id === status.leaderId)?.commitIndex ?? 0;
  // In id order, whichever node answered first: rows stay where the eye left them.
  const nodes = [...status.nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  body.replaceChildren(
    ...nodes.map((node) => {
      const row = document.createElement("tr");
      row.dataset.node = node.id;
      row.dataset.role = node.role;
      // An unreachable node's figures are unknown, not zero.
      const known = node.role !== "unreachable";
      const member = known && (node.roles.includes("metadata") || status.topology === "kv");
      row.append(
        text("td", node.id),
        text("td", node.roles.join(", ") || "kv"),
        text("td", node.role + (node.draining ? " (draining)" : "")),
        text("td", member ? String(node.term) : ""),
        text("td", member ? String(node.commitIndex) : ""),
        text("td", member ? String(node.appliedIndex) : ""),
        text("td", member ? String(leaderCommit - node.appliedIndex) : ""),
        text("td", known && node.memberLive ? "yes" : "no"),
        text("td", known ? String(node.chunkCount) : ""),
        text("td", known ? mib(node.chunkBytes) : ""),
        text("td", known ? mib(node.diskFreeBytes) : ""),
      );
      const http = document.createElement("td");
      if (node.httpAddress) {
        const link = document.createElement("a");
        link.href = `${location.protocol}//${node.httpAddress}/`;
        link.textContent = node.httpAddress;
        http.append(link);
      }
      row.append(http);
      return row;
    }),
  );
}

function recordSamples(at: number, status: ClusterStatus): void {
  if (previous) {
    const seconds = Math.max(0.001, (at - previous.at) / 1000);
    const sum = (s: ClusterStatus, pick: (n: NodeRow) => number) =>
      s.nodes.filter((n) => n.role !== "unreachable").reduce((total, n) => total + pick(n), 0);
    const before = previous.status;
    const inRate = Math.max(
      0,
      sum(status, (n) => n.clientBytesWritten) - sum(before, (n) => n.clientBytesWritten),
    );
    const outRate = Math.max(
      0,
      sum(status, (n) => n.clientBytesRead) - sum(before, (n) => n.clientBytesRead),
    );
    throughput.push({ at, values: [inRate / seconds / 1048576, outRate / seconds / 1048576] });
    const operations =
      sum(status, (n) => n.fileOperationsTotal) - sum(before, (n) => n.fileOperationsTotal);
    const spent =
      sum(status, (n) => n.fileOperationSecondsTotal) -
      sum(before, (n) => n.fileOperationSecondsTotal);
    latency.push({ at, values: [operations > 0 ? (spent / operations) * 1000 : 0] });
    keep(throughput, MAX_SAMPLES);
    keep(latency, MAX_SAMPLES);
  }
  previous = { at, status };
  for (const node of status.nodes) {
    const spans = lanes.get(node.id) ?? [];
    if (spans.at(-1)?.state !== node.role) spans.push({ from: at, state: node.role });
    while (spans.length > 1 && (spans[1]?.from ?? at) < at - WINDOW_MS) spans.shift();
    lanes.set(node.id, spans);
  }
  if (status.leaderId && status.leaderId !== lastLeader) {
    const term = status.nodes.find((n) => n.id === status.leaderId)?.term ?? 0;
    elections.unshift(
      `${new Date(at).toLocaleTimeString()}: ${status.leaderId} leads (term ${term})`,
    );
    // Newest first: the oldest, at the end, go.
    elections.length = Math.min(elections.length, MAX_ELECTIONS);
  }
  lastLeader = status.leaderId;
}

function renderMaintenance(status: ClusterStatus): void {
  const running = status.nodes.find((n) => n.maintenance?.active === true);
  const m = running?.maintenance;
  element("maintenance", HTMLElement).textContent = m
    ? `on ${running.id}: repair ${m.repairPasses} passes, ${m.repairPending} slots pending, ${m.repairedTotal} copies made; ` +
      `scrub ${m.scrubPasses} passes, ${m.scrubCopiesTotal} copies verified, ${m.scrubDamagedTotal} damaged found; ` +
      `garbage collection ${m.gcPasses} passes, ${m.gcDeletedTotal} chunks deleted`
    : "no node runs maintenance now";
}

function render(at: number, status: ClusterStatus): void {
  recordSamples(at, status);
  element("summary", HTMLElement).textContent =
    `topology ${status.topology}` +
    (status.chunkSize
      ? `, chunk ${mib(status.chunkSize)}, R=${status.replicationFactor}, W=${status.writeQuorum}`
      : "");
  element("leader", HTMLElement).textContent = status.leaderId || "(none)";
  renderNodes(status);
  renderMaintenance(status);
  drawLines(element("throughput", HTMLCanvasElement), throughput, WINDOW_MS);
  drawLines(element("latency", HTMLCanvasElement), latency, WINDOW_MS);
  const byId = new Map([...lanes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  drawLanes(element("leadership", HTMLCanvasElement), byId, at - WINDOW_MS, at);
  const list = element("elections", HTMLOListElement);
  list.replaceChildren(...elections.slice(0, 10).map((line) => text("li", line)));
}

function connectEvents(): void {
  const badge = element("connection", HTMLElement);
  const events = new EventSource("/api/v1/events");
  events.addEventListener("status", (event) => {
    const { at, status } = JSON.parse(event.data) as { at: number; status: ClusterStatus };
    badge.textContent = "live";
    badge.className = "badge live";
    render(at, status);
  });
  events.addEventListener("unavailable", (event) => {
    badge.textContent = `unavailable: ${(JSON.parse(event.data) as { message: string }).message}`;
    badge.className = "badge";
  });
  // EventSource reconnects by itself; the badge says while it does.
  events.addEventListener("error", () => {
    badge.textContent = "reconnecting";
    badge.className = "badge";
  });
}

// The file browser, over the REST API; the browser asks for credentials when the cluster
// requires them (HTTP Basic).
let cwd = "/";

function childPath(name: string): string {
  return cwd === "/" ? `/${name}` : `${cwd}/${name}`;
}

function apiPath(prefix: string, path: string): string {
  return `/api/v1/${prefix}${path.split("/").map(encodeURIComponent).join("/")}`;
}

async function errorText(response: Response): Promise<string> {
  const body = (await response.json().catch(() => undefined)) as
    | { error?: { message?: string } }
    | undefined;
  return body?.error?.message ?? `HTTP ${response.status}`;
}

async function showPlacement(path: string): Promise<void> {
  const out = element("placement", HTMLElement);
  const response = await fetch(apiPath("placement", path));
  if (!response.ok) {
    out.textContent = await errorText(response);
    return;
  }
  const placement = (await response.json()) as {
    slots: {
      index: number;
      length: number;
      inline: boolean;
      copies: { nodeId: string; live: boolean }[];
    }[];
    nextSlot?: number;
  };
  out.textContent =
    `${path}:\n` +
    placement.slots
      .map(
        (slot) =>
          `  chunk ${slot.index} (${slot.length} B): ${slot.inline ? "inline in the metadata" : slot.copies.map((c) => (c.live ? c.nodeId : `${c.nodeId} (down)`)).join(", ")}`,
      )
      .join("\n") +
    (placement.nextSlot === undefined ? "" : "\n  …");
}

async function listFiles(): Promise<void> {
  element("cwd", HTMLElement).textContent = cwd;
  const status = element("file-status", HTMLElement);
  const response = await fetch(`${apiPath("list", cwd)}?limit=1000`);
  const body = element("files", HTMLTableElement).tBodies[0];
  if (!body) return;
  if (!response.ok) {
    status.textContent = await errorText(response);
    body.replaceChildren();
    return;
  }
  const page = (await response.json()) as {
    entries: { name: string; type: string; size: number; mode: number; mtimeMs: number }[];
    next?: string;
  };
  status.textContent = page.next === undefined ? "" : "the first 1,000 entries";
  body.replaceChildren(
    ...page.entries.map((entry) => {
      const row = document.createElement("tr");
      row.dataset.file = entry.name;
      const name = document.createElement("td");
      const link = document.createElement("a");
      link.textContent = entry.type === "directory" ? `${entry.name}/` : entry.name;
      if (entry.type === "directory")
        link.addEventListener("click", () => {
          cwd = childPath(entry.name);
          void listFiles();
        });
      else {
        link.href = apiPath("files", childPath(entry.name));
        link.download = entry.name;
      }
      name.append(link);
      const where = document.createElement("td");
      if (entry.type !== "directory") {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = "where";
        button.addEventListener("click", () => void showPlacement(childPath(entry.name)));
        where.append(button);
      }
      row.append(
        name,
        text("td", entry.type === "directory" ? "" : String(entry.size)),
        text("td", entry.mode.toString(8)),
        text("td", new Date(entry.mtimeMs).toLocaleString()),
        where,
      );
      return row;
    }),
  );
}

function setUpFiles(): void {
  element("up", HTMLButtonElement).addEventListener("click", () => {
    cwd = cwd.slice(0, cwd.lastIndexOf("/")) || "/";
    void listFiles();
  });
  const input = element("upload", HTMLInputElement);
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    if (!file) return;
    const status = element("file-status", HTMLElement);
    status.textContent = `uploading ${file.name}…`;
    const response = await fetch(apiPath("files", childPath(file.name)), {
      method: "PUT",
      body: file,
    });
    status.textContent = response.ok ? `uploaded ${file.name}` : await errorText(response);
    input.value = "";
    await listFiles();
  });
}

connectEvents();
setUpFiles();
void listFiles();
