// How the history of the store is thinned with age, so that a year of it stays small and a chart
// of any span has about as many points as it can show. With the default interval (600 s):
//
//   younger than 2 days     every sample (about 288)
//   2 to 30 days            the first sample of each hour (about 670)
//   30 days to a year       the first sample of each day (about 335)
//   older than a year       none
//
// about 1,300 rows in all. The first of each hour (or day) is kept rather than an average: a
// sample is what the store was at one moment, and the first of a bucket never changes as more
// samples come, so thinning again keeps what it kept before.

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Samples younger than this are all kept. */
export const KEEP_ALL_MS = 2 * DAY_MS;
/** Then one an hour, up to this age. */
export const KEEP_HOURLY_MS = 30 * DAY_MS;
/** Then one a day, up to this age; older ones are dropped. */
export const KEEP_DAILY_MS = 365 * DAY_MS;

/**
 * The times among `times` (sample times, ms) that are no longer kept at `now`. The buckets are
 * whole hours and days since the epoch (UTC), so a bucket's first sample is the same whenever
 * the thinning runs.
 */
export function samplesToDrop(times: readonly number[], now: number): number[] {
  const drop: number[] = [];
  const seen = new Set<string>();
  for (const time of [...times].sort((a, b) => a - b)) {
    const age = now - time;
    if (age < KEEP_ALL_MS) continue;
    if (age >= KEEP_DAILY_MS) {
      drop.push(time);
      continue;
    }
    const bucket =
      age < KEEP_HOURLY_MS ? `h${Math.floor(time / HOUR_MS)}` : `d${Math.floor(time / DAY_MS)}`;
    if (seen.has(bucket)) drop.push(time);
    else seen.add(bucket);
  }
  return drop;
}
