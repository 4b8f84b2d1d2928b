// The budget's metrics, in the registry of the one process that keeps the budget (aggregated
// with "max" in a cluster, as the store metrics are, so that copies never add up).

import { Counter, Gauge, type Registry } from "prom-client";

export interface BudgetMetrics {
  /** `[gc] max_store_size` in bytes; 0 when unset. */
  readonly maxStoreSize: Gauge;
  /** `[gc] min_free` in bytes; 0 when unset. */
  readonly minFree: Gauge;
  readonly freeBytes: Gauge;
  readonly runs: Counter;
  readonly deletedPaths: Counter;
  readonly deletedBytes: Counter;
  /** 1 when the last run ended still over budget with nothing dead left to delete. */
  readonly unmet: Gauge;
  /** Bytes still over budget after the last run. */
  readonly overBudgetBytes: Gauge;
  /** Paths left, none of them dead, when the last run could not meet the budget; else 0. */
  readonly unfreedPaths: Gauge;
  readonly failures: Counter;
}

export function createBudgetMetrics(registry: Registry): BudgetMetrics {
  const registers = [registry];
  const aggregator = "max" as const;
  return {
    maxStoreSize: new Gauge({
      name: "storefront_gc_max_store_size_bytes",
      help: "[gc] max_store_size: the budget for the NAR bytes of all valid paths (0: none).",
      registers,
      aggregator,
    }),
    minFree: new Gauge({
      name: "storefront_gc_min_free_bytes",
      help: "[gc] min_free: the free space kept on the store's file system (0: none).",
      registers,
      aggregator,
    }),
    freeBytes: new Gauge({
      name: "storefront_store_free_bytes",
      help: "Free space on the store's file system, at the last check of the budget.",
      registers,
      aggregator,
    }),
    runs: new Counter({
      name: "storefront_gc_runs_total",
      help: "Collections run because the store was over its budget.",
      registers,
      aggregator,
    }),
    deletedPaths: new Counter({
      name: "storefront_gc_deleted_paths_total",
      help: "Dead store paths deleted to keep the store within its budget.",
      registers,
      aggregator,
    }),
    deletedBytes: new Counter({
      name: "storefront_gc_deleted_bytes_total",
      help: "NAR bytes of the dead store paths deleted to keep the store within its budget.",
      registers,
      aggregator,
    }),
    unmet: new Gauge({
      name: "storefront_gc_budget_unmet",
      help: "1 when the last collection left the store over its budget: nothing dead was left.",
      registers,
      aggregator,
    }),
    overBudgetBytes: new Gauge({
      name: "storefront_gc_over_budget_bytes",
      help: "Bytes the store was still over its budget after the last collection.",
      registers,
      aggregator,
    }),
    unfreedPaths: new Gauge({
      name: "storefront_gc_unfreed_paths",
      help: "Paths that could not be freed (alive) when the last collection left the store over its budget; else 0.",
      registers,
      aggregator,
    }),
    failures: new Counter({
      name: "storefront_gc_failures_total",
      help: "Checks of the budget that failed (the Nix daemon unreachable, say); see the log.",
      registers,
      aggregator,
    }),
  };
}
