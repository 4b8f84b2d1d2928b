// The status page's chart: the store over time as inline SVG, drawn on the server so that the
// page needs no JavaScript. One point per history sample in each line; bytes on the left axis
// (the store's NAR bytes, the pins' share, free space, the budget's lines), the path count on
// the right. Both axes share the grid lines: the right axis's top is picked so that its ticks
// fall on the left's.

import type { HistorySample } from "../state/records.ts";
import { byteUnit, formatCount } from "./format.ts";

export interface ChartInput {
  /** Oldest first. */
  readonly history: readonly HistorySample[];
  /** The time axis: from `since` to `until` (ms), whatever span the samples cover. */
  readonly since: number;
  readonly until: number;
  readonly maxStoreSize: number | null;
  readonly minFree: number | null;
}

export interface Chart {
  readonly svg: string;
  /**
   * Free space is left out of the chart when it would squash the store's lines (more than
   * FREE_SPACE_SCALE times the largest of them): the page then says it in words.
   */
  readonly freeSpaceDrawn: boolean;
}

/** The drawing's size in SVG units; it scales to the page's width. */
export const WIDTH = 760;
export const HEIGHT = 300;
const MARGIN = { left: 64, right: 64, top: 14, bottom: 34 } as const;
const PLOT = {
  left: MARGIN.left,
  right: WIDTH - MARGIN.right,
  top: MARGIN.top,
  bottom: HEIGHT - MARGIN.bottom,
} as const;

/** About this many grid lines on the value axes. */
const TICKS = 5;

export const SERIES = {
  store: { label: "store (NAR bytes)", color: "#1f6feb" },
  pinned: { label: "pinned (NAR bytes)", color: "#8250df" },
  free: { label: "free space", color: "#1a7f37" },
  paths: { label: "paths (right axis)", color: "#bc4c00" },
  maxStoreSize: { label: "budget: max store size", color: "#cf222e" },
  minFree: { label: "budget: min free", color: "#1a7f37" },
} as const;

/** A "nice" step (1, 2, 2.5 or 5 times a power of ten) that covers `span` in about `count`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0)) return 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * power >= raw) ?? 10;
  return step * power;
}

/** The left axis: 0 to a multiple of a nice step in the largest value's binary unit (1 KiB at least). */
export function bytesAxis(max: number): { top: number; step: number } {
  const span = Math.max(max, 1024);
  const unit = byteUnit(span);
  const step = niceStep(span / unit.size, TICKS);
  const steps = Math.max(1, Math.ceil(span / unit.size / step));
  return { top: steps * step * unit.size, step: step * unit.size };
}

/** The right axis, with as many steps as the left (so that they share grid lines). */
export function countAxis(max: number, steps: number): { top: number; step: number } {
  const step = Math.max(1, niceStep(Math.max(max, 1), steps));
  const rounded = Number.isInteger(step) ? step : Math.ceil(step);
  const fitted = rounded * steps >= max ? rounded : Math.ceil(max / steps);
  return { top: fitted * steps, step: fitted };
}

function round(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function xOf(time: number, input: ChartInput): number {
  const span = Math.max(1, input.until - input.since);
  return PLOT.left + ((time - input.since) / span) * (PLOT.right - PLOT.left);
}

function yOf(value: number, top: number): number {
  return PLOT.bottom - (value / top) * (PLOT.bottom - PLOT.top);
}

function polyline(
  name: keyof typeof SERIES,
  points: readonly (readonly [number, number])[],
  dashed = false,
): string {
  const coordinates = points.map(([x, y]) => `${round(x)},${round(y)}`).join(" ");
  const dash = dashed ? ' stroke-dasharray="5 3"' : "";
  return `<polyline class="series-${name}" data-series="${name}" fill="none" stroke="${SERIES[name].color}" stroke-width="2" stroke-linejoin="round"${dash} points="${coordinates}"/>`;
}

function horizontalLine(name: "maxStoreSize" | "minFree", y: number): string {
  return `<line class="series-${name}" x1="${PLOT.left}" x2="${PLOT.right}" y1="${round(y)}" y2="${round(y)}" stroke="${SERIES[name].color}" stroke-width="1.5" stroke-dasharray="8 4"/>`;
}

/** Tick labels as `12.5 GiB`. */
function axisBytes(value: number, unitName: string, unitSize: number): string {
  const scaled = value / unitSize;
  return `${String(Math.round(scaled * 100) / 100)} ${unitName}`;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Time ticks at UTC midnights (spans up to 45 days) or first days of months, with labels. */
export function timeTicks(since: number, until: number): { time: number; label: string }[] {
  const ticks: { time: number; label: string }[] = [];
  const spanDays = (until - since) / DAY_MS;
  if (spanDays <= 45) {
    const stepDays = Math.max(1, Math.ceil(spanDays / 6));
    for (let t = Math.ceil(since / DAY_MS) * DAY_MS; t <= until; t += stepDays * DAY_MS) {
      ticks.push({ time: t, label: new Date(t).toISOString().slice(5, 10) });
    }
    return ticks;
  }
  const start = new Date(since);
  // At most about 12 labels: one a month over a year (a month is 30.44 days on average).
  const months = Math.max(1, Math.ceil(spanDays / 30.44 / 12));
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  for (;;) {
    if (month > 11) {
      year += Math.floor(month / 12);
      month %= 12;
    }
    const t = Date.UTC(year, month, 1);
    if (t > until) break;
    ticks.push({ time: t, label: new Date(t).toISOString().slice(0, 7) });
    month += months;
  }
  return ticks;
}

export function renderChart(input: ChartInput): Chart {
  const { history } = input;
  const storeTop = Math.max(
    1,
    ...history.map((s) => Math.max(s.narBytes, s.pinnedBytes)),
    input.maxStoreSize ?? 0,
    input.minFree ?? 0,
  );
  const freeMax = Math.max(0, ...history.map((s) => s.freeBytes));
  // Free space is drawn on the same axis whatever its size: how close the store comes to
  // filling its disk is what the chart is for, even when that squashes the store's lines.
  const freeSpaceDrawn = history.length > 0;
  const bytes = bytesAxis(Math.max(storeTop, freeSpaceDrawn ? freeMax : 0) * 1.05);
  const unit = byteUnit(bytes.top);
  const steps = Math.round(bytes.top / bytes.step);
  const paths = countAxis(Math.max(1, ...history.map((s) => s.paths)) * 1.05, steps);

  const grid: string[] = [];
  for (let i = 0; i <= steps; i++) {
    const y = yOf(i * bytes.step, bytes.top);
    grid.push(
      `<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${round(y)}" y2="${round(y)}" stroke="#ddd"/>`,
      `<text x="${PLOT.left - 6}" y="${round(y + 4)}" text-anchor="end">${axisBytes(i * bytes.step, unit.name, unit.size)}</text>`,
      `<text x="${PLOT.right + 6}" y="${round(y + 4)}" text-anchor="start">${formatCount(i * paths.step)}</text>`,
    );
  }
  for (const tick of timeTicks(input.since, input.until)) {
    const x = xOf(tick.time, input);
    grid.push(
      `<line x1="${round(x)}" x2="${round(x)}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="#eee"/>`,
      `<text x="${round(x)}" y="${PLOT.bottom + 18}" text-anchor="middle">${tick.label}</text>`,
    );
  }

  const at = (value: (s: HistorySample) => number, top: number) =>
    history.map((s) => [xOf(s.time, input), yOf(value(s), top)] as const);
  const lines = [
    input.maxStoreSize === null
      ? ""
      : horizontalLine("maxStoreSize", yOf(input.maxStoreSize, bytes.top)),
    input.minFree === null || !freeSpaceDrawn
      ? ""
      : horizontalLine("minFree", yOf(input.minFree, bytes.top)),
    freeSpaceDrawn
      ? polyline(
          "free",
          at((s) => s.freeBytes, bytes.top),
        )
      : "",
    polyline(
      "paths",
      at((s) => s.paths, paths.top),
      true,
    ),
    polyline(
      "pinned",
      at((s) => s.pinnedBytes, bytes.top),
    ),
    polyline(
      "store",
      at((s) => s.narBytes, bytes.top),
    ),
  ];
  // The newest sample of the store's line as a dot, so that a single sample still shows.
  const last = history.at(-1);
  const dot =
    last === undefined
      ? ""
      : `<circle cx="${round(xOf(last.time, input))}" cy="${round(yOf(last.narBytes, bytes.top))}" r="3" fill="${SERIES.store.color}"/>`;

  const svg = `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif" fill="#555">
<title id="chart-title">The store's size and path count over time</title>
${grid.join("\n")}
<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#bbb"/>
${lines.filter((line) => line !== "").join("\n")}
${dot}
</svg>`;
  return { svg, freeSpaceDrawn };
}
