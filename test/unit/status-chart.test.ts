// The status page's chart: one point per history sample in each line, placed by the axes'
// scales (time across, bytes on the left, paths on the right), the budget as lines, and free
// space on the same chart whatever its size.

import { describe, expect, it } from "vitest";
import {
  bytesAxis,
  countAxis,
  HEIGHT,
  niceStep,
  renderChart,
  timeTicks,
  WIDTH,
  type ChartInput,
} from "../../src/status/chart.ts";
import type { HistorySample } from "../../src/state/records.ts";
import { growingStore } from "../support/state-reader.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const GIB = 1024 ** 3;
const NOW = Date.UTC(2026, 11, 3, 7, 0);
// The plot's box inside the drawing (chart.ts's margins).
const PLOT = { left: 64, right: WIDTH - 64, top: 14, bottom: HEIGHT - 34 };

/** The [x, y] points of one line of the chart. */
function points(svg: string, series: string): [number, number][] {
  const match = new RegExp(`<polyline class="series-${series}"[^>]*points="([^"]*)"`).exec(svg);
  if (match === null) return [];
  return (match[1] ?? "")
    .split(" ")
    .filter((pair) => pair !== "")
    .map((pair) => pair.split(",").map(Number) as [number, number]);
}

/** The y of a horizontal budget line. */
function lineY(svg: string, series: string): number | undefined {
  const match = new RegExp(`<line class="series-${series}"[^>]*y1="([^"]*)"`).exec(svg);
  return match === null ? undefined : Number(match[1]);
}

function input(history: HistorySample[], extra: Partial<ChartInput> = {}): ChartInput {
  return {
    history,
    since: NOW - 30 * DAY_MS,
    until: NOW,
    maxStoreSize: null,
    minFree: null,
    ...extra,
  };
}

function sample(
  time: number,
  narBytes: number,
  paths: number,
  freeBytes = narBytes,
): HistorySample {
  return { time, narBytes, paths, freeBytes, pinnedBytes: narBytes / 2 };
}

describe("the status chart", () => {
  it("draws one point per sample in every line", () => {
    const history = growingStore(97, NOW, 7 * 60 * 60 * 1000);
    const { svg, freeSpaceDrawn } = renderChart(input(history));
    expect(freeSpaceDrawn).toBe(true);
    for (const series of ["store", "pinned", "free", "paths"]) {
      expect(points(svg, series)).toHaveLength(97);
    }
    // In time order, left to right.
    const xs = points(svg, "store").map(([x]) => x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
  });

  it("places time across the whole range and bytes from zero to the axis's top", () => {
    const history = [
      sample(NOW - 30 * DAY_MS, 0, 0),
      sample(NOW - 15 * DAY_MS, 50 * GIB, 500),
      sample(NOW, 100 * GIB, 1000),
    ];
    const { svg } = renderChart(input(history));
    const store = points(svg, "store");
    expect(store.map(([x]) => x)).toEqual([PLOT.left, (PLOT.left + PLOT.right) / 2, PLOT.right]);
    const top = bytesAxis(100 * GIB * 1.05).top;
    expect(top).toBe(125 * GIB);
    const yOf = (bytes: number) => PLOT.bottom - (bytes / top) * (PLOT.bottom - PLOT.top);
    for (const [i, bytes] of [0, 50 * GIB, 100 * GIB].entries()) {
      expect(store[i]?.[1]).toBeCloseTo(yOf(bytes), 0);
    }
    // The left axis's labels, in the largest value's unit.
    expect(svg).toContain(">125 GiB</text>");
    expect(svg).toContain(">0 GiB</text>");
  });

  it("scales the path count on the right axis, whose ticks fall on the left's grid lines", () => {
    const history = [sample(NOW - DAY_MS, 10 * GIB, 1000), sample(NOW, 10 * GIB, 9000)];
    const { svg } = renderChart(input(history));
    const bytes = bytesAxis(10 * GIB * 1.05);
    const steps = Math.round(bytes.top / bytes.step);
    const paths = countAxis(9000 * 1.05, steps);
    expect(paths.top).toBe(paths.step * steps);
    expect(paths.top).toBeGreaterThanOrEqual(9450);
    const [, highest] = points(svg, "paths");
    expect(highest?.[1]).toBeCloseTo(
      PLOT.bottom - (9000 / paths.top) * (PLOT.bottom - PLOT.top),
      0,
    );
  });

  it("draws the budget's lines on the bytes axis", () => {
    const history = [
      sample(NOW - DAY_MS, 150 * GIB, 10, 180 * GIB),
      sample(NOW, 160 * GIB, 10, 170 * GIB),
    ];
    const { svg, freeSpaceDrawn } = renderChart(
      input(history, { maxStoreSize: 200 * GIB, minFree: 20 * GIB }),
    );
    expect(freeSpaceDrawn).toBe(true);
    const top = bytesAxis(200 * GIB * 1.05).top;
    const yOf = (bytes: number) => PLOT.bottom - (bytes / top) * (PLOT.bottom - PLOT.top);
    expect(lineY(svg, "maxStoreSize")).toBeCloseTo(yOf(200 * GIB), 0);
    expect(lineY(svg, "minFree")).toBeCloseTo(yOf(20 * GIB), 0);
  });

  it("draws free space on the same chart even far above the store, with the budget", () => {
    const history = [
      sample(NOW - DAY_MS, 1 * GIB, 10, 900 * GIB),
      sample(NOW, 2 * GIB, 10, 900 * GIB),
    ];
    const { svg, freeSpaceDrawn } = renderChart(input(history, { minFree: 20 * GIB }));
    expect(freeSpaceDrawn).toBe(true);
    expect(points(svg, "free")).toHaveLength(2);
    expect(lineY(svg, "minFree")).toBeDefined();
    // The axis reaches the free space.
    expect(svg).toMatch(/>(1,000|1000|1 000|1 TiB|1.0 TiB|1000 GiB|1,000 GiB|1 000 GiB)/);
  });

  it("shows a single sample as a dot", () => {
    const { svg } = renderChart(input([sample(NOW, GIB, 1)]));
    expect(points(svg, "store")).toHaveLength(1);
    expect(svg).toMatch(/<circle cx="696" /);
  });
});

describe("the chart's axes", () => {
  it("steps by 1, 2, 2.5 or 5 times a power of ten", () => {
    expect(niceStep(100, 5)).toBe(20);
    expect(niceStep(9, 5)).toBe(2);
    expect(niceStep(12, 5)).toBe(2.5);
    expect(niceStep(0.3, 5)).toBeCloseTo(0.1);
    expect(niceStep(0, 5)).toBe(1);
  });

  it("counts bytes in binary units from zero", () => {
    expect(bytesAxis(300 * 1024 ** 2)).toEqual({ top: 300 * 1024 ** 2, step: 100 * 1024 ** 2 });
    expect(bytesAxis(105 * 1024 ** 3)).toEqual({ top: 125 * 1024 ** 3, step: 25 * 1024 ** 3 });
    expect(bytesAxis(0)).toEqual({ top: 1024, step: 204.8 });
  });

  it("marks UTC midnights over a month and months over a year", () => {
    const month = timeTicks(NOW - 30 * DAY_MS, NOW);
    expect(month.map((t) => t.label)).toEqual([
      "11-04",
      "11-09",
      "11-14",
      "11-19",
      "11-24",
      "11-29",
    ]);
    expect(month.every((t) => t.time % DAY_MS === 0)).toBe(true);
    const year = timeTicks(NOW - 365 * DAY_MS, NOW);
    expect(year.map((t) => t.label)).toEqual([
      "2026-01",
      "2026-02",
      "2026-03",
      "2026-04",
      "2026-05",
      "2026-06",
      "2026-07",
      "2026-08",
      "2026-09",
      "2026-10",
      "2026-11",
      "2026-12",
    ]);
  });
});
