// What storefront's own state database (`<state_dir>/state.sqlite`) holds, as the rest of the
// program sees it: the budget (src/budget/) writes these, the status page (src/status/) reads
// them. Times are milliseconds since the epoch; sizes are bytes.

/** One sample of the store, taken every `[gc] interval`. */
export interface HistorySample {
  readonly time: number;
  /** Valid paths in the store. */
  readonly paths: number;
  /** The NAR bytes of all valid paths. */
  readonly narBytes: number;
  /** Free space on the store's file system. */
  readonly freeBytes: number;
  /** The NAR bytes of the closures of the pins. */
  readonly pinnedBytes: number;
}

/** One path landed by a push. */
export interface PushRecordEntry {
  readonly time: number;
  /** The name of the token that pushed it (never its secret). */
  readonly token: string;
  readonly path: string;
  readonly narSize: number;
}

/** One run of the budget's collector. */
export interface GcRunRecord {
  readonly time: number;
  /** Paths and NAR bytes deleted. */
  readonly paths: number;
  readonly bytes: number;
  /** Still over budget with nothing dead left to delete. */
  readonly unmet: boolean;
}

/** What the status page reads; the state database implements it. */
export interface StateReader {
  /** Samples with `time >= since`, oldest first. */
  history(since: number): HistorySample[];
  /** The newest pushes first, at most `limit`. */
  recentPushes(limit: number): PushRecordEntry[];
  /** The newest runs first, at most `limit`. */
  recentGcRuns(limit: number): GcRunRecord[];
}
