// The daemon's work beside serving requests: watch the database (clear the narinfo cache, scan
// for new paths, pin pushed closures, update the store metrics), watch the roots directory
// (recount what pins keep), and prune expired pin revisions on a timer. With several workers
// the narinfo cache is per process, so every process watches the database for it; the scan,
// the pinning and the pruning belong to one process only (`monitor: true`).

import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import type { StoreMetrics } from "./metrics/store-metrics.ts";
import type { GcRoots } from "./store/gc-roots.ts";
import type { NarInfoCache } from "./store/narinfo-cache.ts";
import type { StoreIndex } from "./store/store-index.ts";
import { StoreMonitor } from "./store/store-monitor.ts";
import { watchDatabase, watchRoots, type Watch } from "./store/watch.ts";

/**
 * Events come in bursts (a `nix copy` commits once per path): wait this long after the first
 * before scanning, so that a burst costs one scan.
 */
const SCAN_DELAY_MS = 100;

export interface StoreTasks {
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export interface StoreTaskOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly narInfoCache: NarInfoCache | undefined;
  /** Present in the one process that scans, pins and prunes. */
  readonly monitor:
    | { readonly index: StoreIndex; readonly roots: GcRoots; readonly metrics: StoreMetrics }
    | undefined;
}

interface Debounced {
  readonly trigger: () => void;
  readonly cancel: () => void;
}

/** Runs `task` once, `delay` ms after it is first asked for; errors are logged. */
function debounced(task: () => void, delay: number, log: Logger, what: string): Debounced {
  let timer: NodeJS.Timeout | undefined;
  return {
    trigger: () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        try {
          task();
        } catch (error) {
          log.error(`${what} failed`, { detail: errorText(error) });
        }
      }, delay);
    },
    cancel: () => {
      clearTimeout(timer);
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
  let scan: Debounced | undefined;

  if (options.monitor !== undefined) {
    const { index, roots, metrics } = options.monitor;
    try {
      roots.ensureDir();
    } catch (error) {
      // Serving needs no roots; only pinning does, and then this is fatal.
      if (config.gcroots.pin_new_paths) throw error;
      log.warn("pins are unavailable", { detail: errorText(error) });
    }
    const monitor = new StoreMonitor({
      index,
      roots,
      metrics,
      log,
      storeDir: config.virtual_nix_store,
      pinNewPathsForDays: config.gcroots.pin_new_paths
        ? config.gcroots.new_path_keep_days
        : undefined,
    });
    scan = debounced(
      () => {
        monitor.scan();
      },
      SCAN_DELAY_MS,
      log,
      "store scan",
    );
    const recount = debounced(
      () => {
        monitor.rootsChanged();
      },
      SCAN_DELAY_MS,
      log,
      "roots count",
    );
    pending.push(scan, recount);
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
  }

  if (narInfoCache !== undefined || scan !== undefined) {
    watches.push(
      watchDatabase(config.nix_db_path, () => {
        narInfoCache?.invalidate();
        scan?.trigger();
      }),
    );
  }

  return {
    ready: Promise.all(watches.map((w) => w.ready)).then(() => undefined),
    close: async () => {
      clearInterval(pruneTimer);
      for (const task of pending) task.cancel();
      await Promise.all(watches.map((w) => w.close()));
    },
  };
}
