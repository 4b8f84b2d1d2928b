// The history is thinned with age: every sample for 2 days, the first of each hour to 30 days,
// the first of each day to a year, nothing older.

import { describe, expect, it } from "vitest";
import { samplesToDrop } from "../../src/state/history-thinning.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// A whole day since the epoch, so that hour and day buckets are easy to see.
const NOW = 20_000 * DAY;

/** Samples every 10 minutes from `from` to `to` ms ago. */
function every10Minutes(fromAgo: number, toAgo: number): number[] {
  const times: number[] = [];
  for (let ago = fromAgo; ago > toAgo; ago -= 10 * MINUTE) times.push(NOW - ago);
  return times;
}

function kept(times: number[]): number[] {
  const dropped = new Set(samplesToDrop(times, NOW));
  return times.filter((time) => !dropped.has(time));
}

describe("history thinning", () => {
  it("keeps every sample of the last two days", () => {
    const times = every10Minutes(2 * DAY - MINUTE, 0);
    expect(samplesToDrop(times, NOW)).toEqual([]);
  });

  it("keeps the first sample of each hour from 2 to 30 days", () => {
    const times = every10Minutes(10 * DAY, 9 * DAY);
    const left = kept(times);
    expect(left.length).toBe(24);
    expect(left.every((time) => time % HOUR === 0)).toBe(true);
  });

  it("keeps the first sample of each day from 30 days to a year, none older", () => {
    const times = every10Minutes(40 * DAY, 35 * DAY);
    const left = kept(times);
    expect(left.length).toBe(5);
    expect(left.every((time) => time % DAY === 0)).toBe(true);
    expect(kept([NOW - 366 * DAY, NOW - 400 * DAY])).toEqual([]);
  });

  it("keeps what it kept when it runs again later: thinning twice is thinning once", () => {
    const year = every10Minutes(365 * DAY - MINUTE, 0);
    const once = kept(year);
    // About 288 + 672 + 335 samples.
    expect(once.length).toBeGreaterThan(1250);
    expect(once.length).toBeLessThan(1350);
    expect(samplesToDrop(once, NOW)).toEqual([]);
    // A day later, what was kept is thinned by the older rules, never refilled.
    const later = samplesToDrop(once, NOW + DAY);
    expect(later.length).toBeGreaterThan(0);
    const dropped = new Set(later);
    const remaining = once.filter((time) => !dropped.has(time));
    expect(samplesToDrop(remaining, NOW + DAY)).toEqual([]);
  });
});
