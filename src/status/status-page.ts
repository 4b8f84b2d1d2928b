// `/status` as a person reads it: the store now, its course over the chosen range as a chart,
// then the tables. Plain HTML in the landing page's style, no JavaScript, every text from the
// store or the state escaped. Token names only: a secret never reaches the data.

import { escapeHtml, PAGE_STYLE } from "../core/pages/html.ts";
import { renderChart, SERIES } from "./chart.ts";
import { formatBytes, formatCount, formatTime } from "./format.ts";
import {
  RANGE_DAYS,
  TOP_LEVEL_CANDIDATES,
  type StatusData,
  type StatusRange,
} from "./status-data.ts";

/** Wider than the landing page: the tables hold store paths and the chart wants room. */
const STATUS_STYLE =
  "body{max-width:64rem}" +
  "table.list{border-collapse:collapse;width:100%;margin:0.5rem 0 1rem}" +
  "table.list th,table.list td{padding:0.25rem 0.75rem 0.25rem 0;border-bottom:1px solid #e4e4e4;vertical-align:top}" +
  "td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}" +
  "td.t{white-space:nowrap}" +
  ".muted{color:#666}" +
  ".chart{width:100%;height:auto;display:block}" +
  ".legend{list-style:none;padding:0;margin:0.5rem 0;display:flex;flex-wrap:wrap;gap:0.25rem 1.25rem;font-size:0.9rem}" +
  ".swatch{display:inline-block;width:1.5rem;height:0;border-top:3px solid;vertical-align:middle;margin-right:0.4rem}" +
  ".dashed{border-top-style:dashed}" +
  "nav{margin-bottom:0.5rem}";

const RANGE_TITLE: Readonly<Record<StatusRange, string>> = {
  month: `the last ${RANGE_DAYS.month} days`,
  year: "the last year",
};

/** A store path's base name (`<hash>-<name>`), in code; the whole path is its title. */
function pathCell(storeDir: string, storePath: string): string {
  const base = storePath.startsWith(`${storeDir}/`)
    ? storePath.slice(storeDir.length + 1)
    : storePath;
  return `<td><code title="${escapeHtml(storePath)}">${escapeHtml(base)}</code></td>`;
}

function bytesCell(bytes: number): string {
  return `<td class="n">${formatBytes(bytes)}</td>`;
}

function countCell(count: number): string {
  return `<td class="n">${formatCount(count)}</td>`;
}

function timeCell(time: number): string {
  return `<td class="t">${formatTime(time)}</td>`;
}

function table(head: string, rows: readonly string[], empty: string): string {
  if (rows.length === 0) return `<p class="muted">${empty}</p>`;
  return `<table class="list">
<thead><tr>${head}</tr></thead>
<tbody>
${rows.map((row) => `<tr>${row}</tr>`).join("\n")}
</tbody>
</table>`;
}

function budgetText(budget: StatusData["budget"]): string {
  const parts = [
    budget.maxStoreSize === null ? "" : `store at most ${formatBytes(budget.maxStoreSize)}`,
    budget.minFree === null ? "" : `at least ${formatBytes(budget.minFree)} free`,
  ].filter((part) => part !== "");
  return parts.length === 0 ? "none" : parts.join(", ");
}

/** `, 76 % of the budget`, when there is a size budget. */
function budgetShare(narBytes: number, maxStoreSize: number | null): string {
  if (maxStoreSize === null || maxStoreSize <= 0) return "";
  return `, ${Math.round((narBytes / maxStoreSize) * 100)}\u00a0% of the budget`;
}

function rangeNav(range: StatusRange): string {
  const links = (Object.keys(RANGE_TITLE) as StatusRange[]).map((r) =>
    r === range
      ? `<strong>${RANGE_TITLE[r]}</strong>`
      : `<a href="?range=${r}">${RANGE_TITLE[r]}</a>`,
  );
  return `<nav class="muted">Show: ${links.join(" · ")}</nav>`;
}

function legend(freeSpaceDrawn: boolean, budget: StatusData["budget"]): string {
  const item = (name: keyof typeof SERIES, dashed = false): string =>
    `<li><span class="swatch${dashed ? " dashed" : ""}" style="border-color:${SERIES[name].color}"></span>${SERIES[name].label}</li>`;
  return `<ul class="legend">${[
    item("store"),
    item("pinned"),
    freeSpaceDrawn ? item("free") : "",
    item("paths", true),
    budget.maxStoreSize === null ? "" : item("maxStoreSize", true),
    budget.minFree === null || !freeSpaceDrawn ? "" : item("minFree", true),
  ].join("")}</ul>`;
}

function historySection(data: StatusData): string {
  const heading = `<h2>Over ${RANGE_TITLE[data.range]}</h2>\n${rangeNav(data.range)}`;
  if (data.history.length === 0) {
    const why = data.stateAvailable
      ? "storefront samples the store when it starts and every <code>[gc] interval</code>; the first sample is on its way."
      : "storefront keeps no state database here.";
    return `${heading}\n<p class="muted">No history yet: ${why}</p>`;
  }
  const chart = renderChart({
    history: data.history,
    since: data.since,
    until: data.time,
    maxStoreSize: data.budget.maxStoreSize,
    minFree: data.budget.minFree,
  });
  const newest = data.history.at(-1);
  return `${heading}
<figure style="margin:0">
${chart.svg}
<figcaption>${legend(chart.freeSpaceDrawn, data.budget)}<span class="muted">${formatCount(data.history.length)} samples, from ${formatTime(data.history[0]?.time ?? data.since)} to ${formatTime(newest?.time ?? data.time)}.</span></figcaption>
</figure>
`;
}

export function renderStatusPage(data: StatusData): string {
  const store = data.store;
  const storeDir = store.storeDir;
  const pins = data.pins.map(
    (pin) =>
      `<td>${escapeHtml(pin.name)}</td>${countCell(pin.revisions)}${pathCell(storeDir, pin.storePath)}${countCell(pin.closurePaths)}${bytesCell(pin.closureBytes)}`,
  );
  const largest = data.largestClosures.map(
    (closure) =>
      `${pathCell(storeDir, closure.storePath)}${countCell(closure.closurePaths)}${bytesCell(closure.closureBytes)}`,
  );
  const pushes = data.recentPushes.map(
    (push) =>
      `${timeCell(push.time)}<td>${escapeHtml(push.token)}</td>${pathCell(storeDir, push.path)}${bytesCell(push.narSize)}`,
  );
  const runs = data.recentGcRuns.map(
    (run) =>
      `${timeCell(run.time)}${countCell(run.paths)}${bytesCell(run.bytes)}<td>${run.unmet ? "over budget, nothing dead left" : "within budget"}</td>`,
  );
  const noState = data.stateAvailable ? "None yet." : "Not recorded: no state database.";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>storefront: store status</title>
<style>${PAGE_STYLE}${STATUS_STYLE}</style>
</head>
<body>
<h1>Store status</h1>
<p class="muted">As of ${formatTime(data.time)} · <a href="status.json?range=${data.range}">as JSON</a> · <a href="./">using this cache</a></p>
<table>
<tr><th>Store</th><td><code>${escapeHtml(storeDir)}</code></td></tr>
<tr><th>Paths</th><td>${formatCount(store.paths)}</td></tr>
<tr><th>Size</th><td>${formatBytes(store.narBytes)} (NAR bytes of all valid paths)${budgetShare(store.narBytes, data.budget.maxStoreSize)}</td></tr>
<tr><th>Free space</th><td>${store.freeBytes === null ? "unknown" : `${formatBytes(store.freeBytes)} on the store's file system`}</td></tr>
<tr><th>Budget</th><td>${budgetText(data.budget)}</td></tr>
</table>
${historySection(data)}
<h2>Pins</h2>
${table('<th>pin</th><th class="n">revisions</th><th>newest path</th><th class="n">closure paths</th><th class="n">closure size</th>', pins, "No pins.")}
${pins.length === 0 ? "" : `<p class="muted">A pin's closure counts what all its revisions keep alive.</p>\n`}<h2>Largest closures</h2>
${table('<th>path</th><th class="n">closure paths</th><th class="n">closure size</th>', largest, "No paths.")}
<p class="muted">Among the ${TOP_LEVEL_CANDIDATES} most recently registered top-level paths: outputs that no other path refers to.</p>
<h2>Recent pushes</h2>
${table('<th>time</th><th>token</th><th>path</th><th class="n">NAR size</th>', pushes, noState)}
<h2>Recent garbage collections</h2>
${table('<th>time</th><th class="n">paths deleted</th><th class="n">bytes freed</th><th>outcome</th>', runs, noState)}
</body>
</html>
`;
}
