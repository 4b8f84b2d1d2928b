// One run of the budget: measure the store; when it is over budget, ask the Nix daemon which
// paths are dead (reachable from no GC root, storefront's pins included), order them least
// recently used first (plan.ts), and have the daemon delete them in batches until the store is
// within budget or nothing dead is left. Live paths are never asked for: the daemon would
// refuse them anyway. A dry run stops after the plan.

import { statfsSync } from "node:fs";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { NixDaemonError, type NixDaemonClient } from "../nix-daemon/index.ts";
import type { StateDatabase } from "../state/state-database.ts";
import type { StoreIndex } from "../store/db/store-index.ts";
import type { BudgetMetrics } from "./budget-metrics.ts";
import {
  deletionOrder,
  excessBytes,
  takeUntil,
  type BudgetLimits,
  type Candidate,
  type StoreMeasure,
} from "./plan.ts";

/**
 * Paths per delete request: the daemon holds the GC lock for a request's whole length, and
 * builds wait for it; the store is measured again between batches.
 */
const BATCH_PATHS = 500;

export interface CollectOptions {
  readonly index: StoreIndex;
  readonly daemon: NixDaemonClient;
  /** Last uses; undefined: paths count from their registration alone. */
  readonly state: StateDatabase | undefined;
  readonly limits: BudgetLimits;
  /** Where the store's files are: its file system's free space is measured there. */
  readonly realStoreDir: string;
  readonly storeDir: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics?: BudgetMetrics | undefined;
  /** Plan only: delete nothing, record nothing. */
  readonly dryRun?: boolean;
}

export interface CollectResult {
  readonly before: StoreMeasure;
  readonly after: StoreMeasure;
  /** Bytes over budget at the start (0: within budget, nothing was asked of the daemon). */
  readonly excess: number;
  /** What a dry run would delete, or what this run set out to delete, in order. */
  readonly planned: readonly Candidate[];
  /** Paths deleted (none in a dry run), and their NAR bytes. */
  readonly deletedPaths: readonly string[];
  readonly deletedBytes: number;
  /** Still over budget with nothing dead left (for a dry run: what is planned is not enough). */
  readonly unmet: boolean;
  /** Bytes still over budget at the end (for a dry run: as it expects). */
  readonly stillOver: number;
  /** Dead paths that the daemon would not delete (alive again since it listed them). */
  readonly refused: number;
  readonly seconds: number;
}

/** The store's paths, NAR bytes and free space now. */
export function measureStore(index: StoreIndex, realStoreDir: string): StoreMeasure {
  const totals = index.totals();
  const fs = statfsSync(realStoreDir, { bigint: true });
  return {
    paths: totals.count,
    narBytes: totals.bytes,
    freeBytes: Number(fs.bavail * fs.bsize),
  };
}

export async function collect(options: CollectOptions): Promise<CollectResult> {
  const { index, daemon, limits, realStoreDir, clock, log, metrics } = options;
  const started = clock();
  const startedAt = performance.now();
  const before = measureStore(index, realStoreDir);
  metrics?.freeBytes.set(before.freeBytes);
  const excess = excessBytes(before, limits);
  const result = (rest: Omit<CollectResult, "before" | "excess" | "seconds">): CollectResult => ({
    before,
    excess,
    seconds: (performance.now() - startedAt) / 1000,
    ...rest,
  });
  if (excess === 0) {
    metrics?.unmet.set(0);
    metrics?.overBudgetBytes.set(0);
    metrics?.unfreedPaths.set(0);
    return result({
      after: before,
      planned: [],
      deletedPaths: [],
      deletedBytes: 0,
      unmet: false,
      stillOver: 0,
      refused: 0,
    });
  }

  const ordered = await deadPathsInOrder(options);
  if (options.dryRun === true) {
    const planned = takeUntil(ordered, excess);
    const bytes = planned.reduce((sum, path) => sum + path.narSize, 0);
    return result({
      after: before,
      planned,
      deletedPaths: [],
      deletedBytes: 0,
      unmet: bytes < excess,
      stillOver: Math.max(0, excess - bytes),
      refused: 0,
    });
  }

  const sizes = new Map(ordered.map((path) => [path.path, path.narSize]));
  const deleted = new Set<string>();
  let remaining = ordered;
  let refused = 0;
  let after = before;
  let over = excess;
  const planned: Candidate[] = [];
  while (over > 0 && remaining.length > 0) {
    const batch = takeUntil(remaining, over, BATCH_PATHS);
    planned.push(...batch);
    const outcome = await deleteBatch(
      daemon,
      batch.map((path) => path.path),
      log,
    );
    refused += outcome.refused;
    for (const path of outcome.deleted) deleted.add(path);
    const done = new Set([...outcome.deleted, ...batch.map((path) => path.path)]);
    remaining = remaining.filter((path) => !done.has(path.path));
    after = measureStore(index, realStoreDir);
    over = excessBytes(after, limits);
  }
  const deletedPaths = [...deleted];
  const deletedBytes = deletedPaths.reduce((sum, path) => sum + (sizes.get(path) ?? 0), 0);
  const unmet = over > 0;

  try {
    options.state?.forgetUses(deletedPaths.map((path) => hashPart(options.storeDir, path)));
    options.state?.addGcRun({
      time: started,
      paths: deletedPaths.length,
      bytes: deletedBytes,
      unmet,
    });
  } catch (error) {
    // The paths are deleted all the same; only the record of it is lost.
    log.warn("could not record a run of the budget in the state database", {
      detail: String(error),
    });
  }
  if (metrics !== undefined) {
    metrics.runs.inc();
    metrics.deletedPaths.inc(deletedPaths.length);
    metrics.deletedBytes.inc(deletedBytes);
    metrics.freeBytes.set(after.freeBytes);
    metrics.unmet.set(unmet ? 1 : 0);
    metrics.overBudgetBytes.set(over);
    metrics.unfreedPaths.set(unmet ? after.paths : 0);
  }
  return result({ after, planned, deletedPaths, deletedBytes, unmet, stillOver: over, refused });
}

/** The dead paths, as the daemon lists them, least recently used first. */
async function deadPathsInOrder(options: CollectOptions): Promise<Candidate[]> {
  const { index, daemon, state, storeDir } = options;
  const dead = await daemon.collectGarbage({ action: "return-dead" });
  // The daemon lists what is in the store directory; only registered paths have a size.
  const rows = index.pathRows(dead.paths);
  const lastUses = state?.lastUses(rows.map((row) => hashPart(storeDir, row.path)));
  return deletionOrder(
    rows.map((row) => ({ ...row, lastUsed: lastUses?.get(hashPart(storeDir, row.path)) })),
    index.referencesAmong(rows.map((row) => row.id)),
  );
}

/**
 * Deletes `paths` in one request. Should one of them have come alive since the daemon listed
 * it (a push that refers to it, a new pin), the daemon refuses the request at that path: the
 * rest are then tried one at a time, and the live ones skipped.
 */
async function deleteBatch(
  daemon: NixDaemonClient,
  paths: readonly string[],
  log: Logger,
): Promise<{ deleted: readonly string[]; refused: number }> {
  try {
    const result = await daemon.collectGarbage({ action: "delete-specific", paths });
    return { deleted: result.paths, refused: 0 };
  } catch (error) {
    if (!(error instanceof NixDaemonError && error.kind === "daemon")) throw error;
  }
  const deleted: string[] = [];
  let refused = 0;
  for (const path of paths) {
    try {
      deleted.push(
        ...(await daemon.collectGarbage({ action: "delete-specific", paths: [path] })).paths,
      );
    } catch (error) {
      if (!(error instanceof NixDaemonError && error.kind === "daemon")) throw error;
      // Gone already (deleted with a path before it) or alive again: either way, not ours.
      refused++;
      log.debug("the Nix daemon did not delete a dead path", {
        path,
        detail: error.daemonMessage,
      });
    }
  }
  return { deleted, refused };
}

/** The 32-character hash part of a store path, under which its last use is kept. */
export function hashPart(storeDir: string, storePath: string): string {
  return storePath.slice(storeDir.length + 1, storeDir.length + 33);
}
