// The metrics of the goal table, in one place: what each measures and its goal.

export type MetricId =
  | "narinfo-all"
  | "narinfo-c25"
  | "narinfo-all-warm"
  | "nar-c1"
  | "nar-c4"
  | "nar-c16"
  | "nar-c1-first"
  | "zstd-first"
  | "zstd-repeat"
  | "zstd-repeat-c4"
  | "zstd-repeat-c16";

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
    label: "narinfo-all, fresh start",
    what: "storefront started anew, one untimed pass, then every narinfo in sequence over one keep-alive connection (median of 5 passes)",
    goal: 1.0,
  },
  {
    id: "narinfo-c25",
    label: "narinfos, 25 connections",
    what: "wrk: 25 keep-alive connections each asking for every narinfo in turn; time of one pass at the measured rate",
    goal: 1.25,
  },
  {
    id: "narinfo-all-warm",
    label: "narinfo-all, long-running",
    what: "narinfo-all again after the sample's other passes (thousands of requests of JIT warm-up)",
    goal: undefined,
  },
  { id: "nar-c1", label: "NAR c1", what: "every NAR once, 1 connection", goal: 1.0 },
  { id: "nar-c4", label: "NAR c4", what: "every NAR once, 4 connections, one queue", goal: 1.0 },
  { id: "nar-c16", label: "NAR c16", what: "every NAR once, 16 connections, one queue", goal: 1.0 },
  {
    id: "nar-c1-first",
    label: "NAR c1, first",
    what: "storefront started anew with an empty NAR cache on disk: every path walked, its layout recorded",
    goal: 1.3,
  },
  {
    id: "zstd-first",
    label: "NAR zstd c1, first",
    what: "storefront started anew with Accept-Encoding: zstd and an empty NAR cache vs nginx's zstd cache",
    goal: undefined,
  },
  {
    id: "zstd-repeat",
    label: "NAR zstd c1, repeat",
    what: "the same download again (storefront's NAR cache filled) vs nginx's zstd cache",
    goal: 1.0,
  },
  {
    id: "zstd-repeat-c4",
    label: "NAR zstd c4, repeat",
    what: "the zstd repeat download over 4 connections, one queue",
    goal: 1.0,
  },
  {
    id: "zstd-repeat-c16",
    label: "NAR zstd c16, repeat",
    what: "the zstd repeat download over 16 connections, one queue",
    goal: 1.0,
  },
];

/**
 * Compressing must never make a first download much slower than not compressing: storefront's
 * zstd first download against its own plain first download, in the same sample.
 */
export const ZSTD_FIRST_OVER_PLAIN_GOAL = 1.3;

/**
 * The metrics also measured against the Node floor (bench/node-floor.ts): what any one-thread
 * Node server costs, apart from what storefront adds. Every row but the zstd first download,
 * whose counterpart would be the floor sending files compressed in advance (nginx's row).
 */
export const FLOOR_METRICS = [
  "narinfo-all",
  "narinfo-c25",
  "narinfo-all-warm",
  "nar-c1",
  "nar-c4",
  "nar-c16",
  "nar-c1-first",
  "zstd-repeat",
  "zstd-repeat-c4",
  "zstd-repeat-c16",
] as const satisfies readonly MetricId[];
export type FloorMetric = (typeof FLOOR_METRICS)[number];

export function isFloorMetric(id: MetricId): id is FloorMetric {
  return (FLOOR_METRICS as readonly MetricId[]).includes(id);
}

/** Peak RSS of all storefront processes during NAR c16. */
export const RSS_GOAL_BYTES = 128 * 1024 * 1024;
