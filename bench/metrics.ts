// The metrics of the goal table, in one place: what each measures and its goal.

export type MetricId =
  "narinfo-all" | "nar-c1" | "nar-c4" | "nar-c16" | "nar-c1-first" | "zstd-first" | "zstd-repeat";

export interface TimedMetric {
  readonly id: MetricId;
  readonly label: string;
  readonly what: string;
  /** Goal for the time ratio storefront / nginx; undefined where the issue sets none. */
  readonly goal: number | undefined;
}

export const TIMED_METRICS: readonly TimedMetric[] = [
  {
    id: "narinfo-all",
    label: "narinfo-all",
    what: "every narinfo in sequence over one keep-alive connection (median of 5 passes)",
    goal: 1.0,
  },
  { id: "nar-c1", label: "NAR c1", what: "every NAR once, 1 connection", goal: 1.3 },
  { id: "nar-c4", label: "NAR c4", what: "every NAR once, 4 connections, one queue", goal: 1.2 },
  { id: "nar-c16", label: "NAR c16", what: "every NAR once, 16 connections, one queue", goal: 1.1 },
  {
    id: "nar-c1-first",
    label: "NAR c1, first",
    what: "storefront with an empty NAR cache: every path walked, its layout recorded",
    goal: undefined,
  },
  {
    id: "zstd-first",
    label: "NAR zstd c1, first",
    what: "storefront with Accept-Encoding: zstd and an empty NAR cache vs nginx's zstd cache",
    goal: undefined,
  },
  {
    id: "zstd-repeat",
    label: "NAR zstd c1, repeat",
    what: "the same download again (storefront's NAR cache filled) vs nginx's zstd cache",
    goal: 2.0,
  },
];

/**
 * The single-connection metrics that are also measured against the Node floor
 * (bench/node-floor.ts): what any Node server costs, apart from what storefront adds.
 */
export const FLOOR_METRICS = ["narinfo-all", "nar-c1"] as const satisfies readonly MetricId[];
export type FloorMetric = (typeof FLOOR_METRICS)[number];

export function isFloorMetric(id: MetricId): id is FloorMetric {
  return (FLOOR_METRICS as readonly MetricId[]).includes(id);
}

/** Peak RSS of all storefront processes during NAR c16. */
export const RSS_GOAL_BYTES = 128 * 1024 * 1024;
