// Serving only the closures of chosen roots (`[exposure]`): the set, how it is kept
// current, and its metrics.

export { Exposure, type ServedTotals } from "./exposure.ts";
export { registerExposureMetrics } from "./metrics.ts";
export { watchExposure } from "./watch.ts";
export { PINS_ENTRY } from "./roots.ts";
