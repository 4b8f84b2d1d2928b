// What the status page shows, as one plain object: `/status.json` sends it as it is and
// `/status` renders it (status-page.ts). Assembled here from the store, the pins and the state
// database, each read through a small interface so that tests give plain values.
// Times are milliseconds since the epoch; sizes are bytes.

import type { GcRunRecord, HistorySample, PushRecordEntry, StateReader } from "../state/records.ts";

/** How far back the chart looks: `?range=month` (the default) or `?range=year`. */
export type StatusRange = "month" | "year";

export const RANGE_DAYS: Readonly<Record<StatusRange, number>> = { month: 30, year: 365 };

/** The range a query string's `range` asks for; undefined for a value that is none of them. */
export function parseRange(value: string | null): StatusRange | undefined {
  if (value === null || value === "" || value === "month") return "month";
  return value === "year" ? "year" : undefined;
}

/** `[gc] max_store_size` and `min_free` as configured; undefined: not set. */
export interface Budget {
  readonly maxStoreSize?: number | undefined;
  readonly minFree?: number | undefined;
}

/** How many rows each table shows: enough to see what matters, few enough to read. */
export const LIMITS = { largestClosures: 10, pushes: 20, gcRuns: 20 } as const;

/**
 * The top-level paths whose closures are measured for "largest closures": the most recently
 * registered ones. The largest closures of the whole store would need the closure of every
 * top-level path, a walk of the whole reference graph per request; the recent ones are what an
 * operator asks about ("what did that push cost?"), and the pins, listed apart, cover the rest.
 */
export const TOP_LEVEL_CANDIDATES = 200;

export interface PinStatus {
  readonly name: string;
  readonly revisions: number;
  /** The newest revision's path. */
  readonly storePath: string;
  /** What all its revisions keep alive together. */
  readonly closurePaths: number;
  readonly closureBytes: number;
}

export interface ClosureStatus {
  readonly storePath: string;
  readonly closurePaths: number;
  readonly closureBytes: number;
}

export interface StatusData {
  /** When this was assembled. */
  readonly time: number;
  readonly range: StatusRange;
  /** The start of the chart's time axis: `time` less the range's days. */
  readonly since: number;
  readonly store: {
    readonly storeDir: string;
    readonly paths: number;
    readonly narBytes: number;
    /** Free space on the store's file system; null when it could not be read. */
    readonly freeBytes: number | null;
  };
  readonly budget: { readonly maxStoreSize: number | null; readonly minFree: number | null };
  /** False when storefront keeps no state database: then the lists below are empty. */
  readonly stateAvailable: boolean;
  /** Samples since `since`, oldest first. */
  readonly history: readonly HistorySample[];
  /** By name. */
  readonly pins: readonly PinStatus[];
  /** Largest first, among the recent top-level paths (see TOP_LEVEL_CANDIDATES). */
  readonly largestClosures: readonly ClosureStatus[];
  /** Newest first. */
  readonly recentPushes: readonly PushRecordEntry[];
  /** Newest first. */
  readonly recentGcRuns: readonly GcRunRecord[];
}

/** The store's part of the status: what changes only when the store or the pins do. */
export interface StoreStatus {
  readonly storeDir: string;
  readonly paths: number;
  readonly narBytes: number;
  readonly freeBytes: number | null;
  readonly pins: readonly PinStatus[];
  readonly largestClosures: readonly ClosureStatus[];
}

export interface StatusInputs {
  readonly now: number;
  readonly range: StatusRange;
  readonly store: StoreStatus;
  /** undefined: storefront keeps no state database (yet). */
  readonly state: StateReader | undefined;
  readonly budget?: Budget | undefined;
  /** Whether a pushed path may be named (`[exposure]`); undefined: every one. */
  readonly shows?: ((storePath: string) => boolean) | undefined;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function assembleStatus(inputs: StatusInputs): StatusData {
  const { now, range, store, state, budget, shows } = inputs;
  const since = now - RANGE_DAYS[range] * DAY_MS;
  return {
    time: now,
    range,
    since,
    store: {
      storeDir: store.storeDir,
      paths: store.paths,
      narBytes: store.narBytes,
      freeBytes: store.freeBytes,
    },
    budget: { maxStoreSize: budget?.maxStoreSize ?? null, minFree: budget?.minFree ?? null },
    stateAvailable: state !== undefined,
    history: state?.history(since) ?? [],
    pins: store.pins,
    largestClosures: store.largestClosures,
    recentPushes: (state?.recentPushes(LIMITS.pushes) ?? []).filter(
      (push) => shows?.(push.path) !== false,
    ),
    recentGcRuns: state?.recentGcRuns(LIMITS.gcRuns) ?? [],
  };
}
