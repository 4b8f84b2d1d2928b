// The budget as the daemon keeps it, in one process only (the one that watches the store): every
// `[gc] interval` seconds a check (and a collection when over budget) and a sample of the store
// for its history; and a check soon after new paths are registered (a push). Runs never overlap:
// a trigger during a run makes one more run after it. A run that cannot meet the budget logs a
// warning and sets a metric; the next check comes at the next interval or push, not at once.

import type { Registry } from "prom-client";
import type { Clock } from "../clock.ts";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log.ts";
import { NixDaemonClient } from "../nix-daemon/index.ts";
import type { StateDatabase } from "../state/state-database.ts";
import type { PathTotals, StoreIndex } from "../store/db/store-index.ts";
import type { GcRoots } from "../store/roots/gc-roots.ts";
import { createBudgetMetrics, type BudgetMetrics } from "./budget-metrics.ts";
import { collect, measureStore } from "./collect.ts";
import type { BudgetLimits } from "./plan.ts";
import { logRun } from "./report.ts";
import { storeSample } from "./store-sample.ts";

/** After new paths, wait this long (a push registers a closure path by path) before a check. */
const AFTER_NEW_PATHS_MS = 2000;

export interface BudgetTaskOptions {
  readonly config: Config;
  readonly index: StoreIndex;
  readonly roots: GcRoots;
  /** The history and last uses; undefined when the state database is unusable. */
  readonly state: StateDatabase | undefined;
  readonly registry: Registry;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * What the pins keep, as the store monitor counts it (off the serving thread on a large
   * store); without it each sample counts it here.
   */
  readonly pinnedTotals?: () => Promise<PathTotals>;
}

export interface BudgetTask {
  /** New paths were registered: check the budget soon. */
  pathsAdded(): void;
  /** Stops the timers and waits for a run under way. */
  close(): Promise<void>;
}

export function limitsOf(config: Config): BudgetLimits {
  return { maxStoreSize: config.gc.max_store_size, minFree: config.gc.min_free };
}

export function hasBudget(limits: BudgetLimits): boolean {
  return limits.maxStoreSize !== undefined || limits.minFree !== undefined;
}

export function startBudget(options: BudgetTaskOptions): BudgetTask {
  const { config, index, roots, state, clock, log } = options;
  const limits = limitsOf(config);
  const metrics = createBudgetMetrics(options.registry);
  metrics.maxStoreSize.set(limits.maxStoreSize ?? 0);
  metrics.minFree.set(limits.minFree ?? 0);
  // A client of its own: the paths pushed over the upload routes' connections are temporary
  // roots of those connections while they are open.
  const daemon = hasBudget(limits)
    ? new NixDaemonClient({ socketPath: config.daemon_socket, maxConnections: 1 })
    : undefined;

  let running: Promise<void> | undefined;
  let again: { sample: boolean } | undefined;
  let closed = false;

  const once = async (sample: boolean): Promise<void> => {
    try {
      if (daemon !== undefined) await check(daemon, metrics);
      if (sample && state !== undefined) {
        const pinned = await options.pinnedTotals?.();
        const measure = measureStore(index, config.real_nix_store);
        metrics.freeBytes.set(measure.freeBytes);
        state.addSample(storeSample(measure, index, roots, clock, pinned?.bytes));
      }
    } catch (error) {
      metrics.failures.inc();
      log.error("budget check failed", {
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  };

  const check = async (client: NixDaemonClient, counted: BudgetMetrics): Promise<void> => {
    const run = await collect({
      index,
      daemon: client,
      state,
      limits,
      realStoreDir: config.real_nix_store,
      storeDir: config.virtual_nix_store,
      clock,
      log,
      metrics: counted,
    });
    if (run.excess > 0) logRun(log, run);
  };

  const start = (sample: boolean): void => {
    if (closed) return;
    if (running !== undefined) {
      again = { sample: sample || again?.sample === true };
      return;
    }
    running = once(sample).finally(() => {
      running = undefined;
      const next = again;
      again = undefined;
      if (next !== undefined) start(next.sample);
    });
  };

  start(true);
  const interval = setInterval(() => {
    start(true);
  }, config.gc.interval * 1000);
  interval.unref();
  let soon: NodeJS.Timeout | undefined;

  return {
    pathsAdded: () => {
      if (daemon === undefined || soon !== undefined) return;
      soon = setTimeout(() => {
        soon = undefined;
        start(false);
      }, AFTER_NEW_PATHS_MS);
      soon.unref();
    },
    close: async () => {
      closed = true;
      clearInterval(interval);
      clearTimeout(soon);
      await running;
      daemon?.close();
    },
  };
}
