// The daemon's work beside serving requests: watch the database (clear the narinfo cache, scan
// for new paths, pin pushed closures, update the store metrics), watch the roots directory
// (recount what pins keep), prune expired pin revisions on a timer, and keep the store within
// its budget (src/budget/: on a timer, and soon after new paths). With several workers the
// narinfo cache is per process, so every process watches the database for it; the scan, the
// pinning, the pruning and the budget belong to one process only (`monitor`).

import type { Registry } from "prom-client";
import { startBudget, type BudgetTask } from "../budget/budget-task.ts";
import type { Clock } from "../clock.ts";
import type { Config } from "../config/config.ts";
import type { StateDatabase } from "../state/state-database.ts";
import type { Logger } from "../log.ts";
import type { StoreMetrics } from "../metrics/store-metrics.ts";
import type { GcRoots } from "../store/roots/gc-roots.ts";
import type { NarInfoCache } from "../store/db/narinfo-cache.ts";
import type { StoreIndex } from "../store/db/store-index.ts";
import { closureTotalsInThread } from "../store/db/closure-totals-thread.ts";
import { StoreMonitor } from "../store/roots/store-monitor.ts";
import { watchDatabase, watchRoots, type Watch } from "../store/roots/watch.ts";

/**
 * Events come in bursts (a `nix copy` commits once per path): wait this long after the first
 * before scanning, so that a burst costs few scans.
 */
const SCAN_DELAY_MS = 100;
/**
 * chokidar drops a file's events that follow another within 5 ms, so the event for the end of
 * a transaction may never come. Everything that an event triggers runs again this long after
 * the last event seen, by when any write that followed it has long landed.
 */
const SETTLE_MS = 250;
/**
 * And once more this long after the last event: a loaded machine (a daemon busy with many
 * paths, a machine short of CPU) can take longer than SETTLE_MS to commit what it began, and
 * the commit's own event may be one of those dropped.
 */
const LATE_MS = 2000;

export interface StoreTasks {
  readonly ready: Promise<void>;
  /** The store changed (a push landed here): look as a database event would make it look. */
  storeChanged(): void;
  close(): Promise<void>;
}

export interface StoreTaskOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly narInfoCache: NarInfoCache | undefined;
  /** Present in the one process that scans, pins and prunes. */
  readonly monitor:
    | {
        readonly index: StoreIndex;
        readonly roots: GcRoots;
        readonly metrics: StoreMetrics;
        /** Where the budget's metrics go. */
        readonly registry: Registry;
        /** The history and last uses, for the budget; undefined when unusable. */
        readonly state: StateDatabase | undefined;
        readonly clock: Clock;
      }
    | undefined;
}

interface Debounced {
  readonly trigger: () => void;
  readonly cancel: () => void;
}

/**
 * Runs `task` `delay` ms after the first of a burst of triggers, and again `SETTLE_MS` and
 * `LATE_MS` after the last: soon, and surely after the burst. Errors are logged.
 */
function debounced(task: () => void, delay: number, log: Logger, what: string): Debounced {
  let first: NodeJS.Timeout | undefined;
  let last: NodeJS.Timeout | undefined;
  let late: NodeJS.Timeout | undefined;
  const run = (): void => {
    try {
      task();
    } catch (error) {
      log.error(`${what} failed`, { detail: errorText(error) });
    }
  };
  return {
    trigger: () => {
      first ??= setTimeout(() => {
        first = undefined;
        run();
      }, delay);
      clearTimeout(last);
      last = setTimeout(run, SETTLE_MS);
      clearTimeout(late);
      late = setTimeout(run, LATE_MS);
    },
    cancel: () => {
      clearTimeout(first);
      clearTimeout(last);
      clearTimeout(late);
    },
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function startStoreTasks(options: StoreTaskOptions): StoreTasks {
  const { config, log, narInfoCache } = options;
  const watches: Watch[] = [];
  const pending: Debounced[] = [];
  let pruneTimer: NodeJS.Timeout | undefined;
  let monitor: StoreMonitor | undefined;
  let budget: BudgetTask | undefined;

  if (options.monitor !== undefined) {
    const { index, roots, metrics } = options.monitor;
    try {
      roots.ensureDir();
    } catch (error) {
      // Serving needs no roots; only pinning does, and then this is fatal.
      if (config.gcroots.pin_new_paths) throw error;
      log.warn("pins are unavailable", { detail: errorText(error) });
    }
    monitor = new StoreMonitor({
      index,
      roots,
      metrics,
      log,
      storeDir: config.virtual_nix_store,
      pinNewPathsForDays: config.gcroots.pin_new_paths
        ? config.gcroots.new_path_keep_days
        : undefined,
      countInThread: (storePaths) => closureTotalsInThread(config.nix_db_path, storePaths),
    });
    const counted = monitor;
    const recount = debounced(
      () => {
        counted.rootsChanged();
      },
      SCAN_DELAY_MS,
      log,
      "roots count",
    );
    pending.push(recount);
    try {
      watches.push(
        watchRoots(roots.dir, recount.trigger, (error) => {
          log.warn("watching the GC roots stopped", { detail: errorText(error) });
        }),
      );
    } catch (error) {
      log.warn("cannot watch the GC roots directory", { detail: errorText(error) });
    }
    const prune = (): void => {
      try {
        for (const { pin, revision } of roots.prune()) {
          log.info("pruned pin revision", {
            pin,
            revision: revision.number,
            path: revision.storePath,
          });
        }
      } catch (error) {
        log.error("prune failed", { detail: errorText(error) });
      }
    };
    prune();
    pruneTimer = setInterval(prune, config.gcroots.prune_interval * 1000);
    pruneTimer.unref();
    budget = startBudget({
      config,
      index,
      roots,
      state: options.monitor.state,
      registry: options.monitor.registry,
      clock: options.monitor.clock,
      log,
      pinnedTotals: () => counted.kept(),
    });
  }

  let storeChanged = (): void => {};
  if (narInfoCache !== undefined || monitor !== undefined) {
    const scanned = monitor;
    const checked = budget;
    const settle = debounced(
      () => {
        narInfoCache?.invalidate();
        // New paths (a push, a build) may take the store over its budget.
        if ((scanned?.scan() ?? 0) > 0) checked?.pathsAdded();
      },
      SCAN_DELAY_MS,
      log,
      "store scan",
    );
    pending.push(settle);
    storeChanged = () => {
      // At once, so that a change is seen by the next request; and again after the burst.
      narInfoCache?.invalidate();
      settle.trigger();
    };
    watches.push(watchDatabase(config.nix_db_path, storeChanged));
  }

  return {
    ready: Promise.all(watches.map((w) => w.ready)).then(() => undefined),
    storeChanged: () => {
      storeChanged();
    },
    close: async () => {
      clearInterval(pruneTimer);
      for (const task of pending) task.cancel();
      await budget?.close();
      await Promise.all(watches.map((w) => w.close()));
    },
  };
}
