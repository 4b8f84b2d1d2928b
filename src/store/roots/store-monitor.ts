// The daemon's eye on the store: when the database changes it asks for the rows registered
// since its last look (ids only grow), keeps running totals for the store metrics, pins pushed
// closures when configured to, and clears the narinfo cache; when the roots directory changes
// it recounts what the pins keep alive. Totals are counted in full only at start and after
// the garbage collector deleted rows, never per scrape.

import { autoPinName } from "../../core/pins/pin-name.ts";
import { storePathBaseName } from "../../core/nix/store-path.ts";
import type { Logger } from "../../log.ts";
import type { StoreMetrics } from "../../metrics/store-metrics.ts";
import type { GcRoots } from "./gc-roots.ts";
import type { NewPath, PathTotals, StoreIndex } from "../db/store-index.ts";

/**
 * From this many valid paths on, what the pins keep is counted on a thread of its own (when
 * the monitor is given one): on a store of a million paths, a pin on a system's closure took
 * 2.5 s to count, first at start, before the first answer, then at every change of the roots.
 */
export const COUNT_IN_THREAD_FROM = 100_000;

export interface StoreMonitorOptions {
  readonly index: StoreIndex;
  readonly roots: GcRoots;
  readonly metrics: StoreMetrics;
  readonly log: Logger;
  readonly storeDir: string;
  /** Days to keep newly registered closures; undefined: do not pin them. */
  readonly pinNewPathsForDays: number | undefined;
  /** StoreIndex.closureTotals on a thread of its own, for large stores. */
  readonly countInThread?: (storePaths: readonly string[]) => Promise<PathTotals>;
  /** Valid paths from which countInThread is used; COUNT_IN_THREAD_FROM unless given. */
  readonly countInThreadFrom?: number;
}

export class StoreMonitor {
  readonly #options: StoreMonitorOptions;
  #lastId = 0;
  #count = 0;
  #bytes = 0;
  /** What the pins keep, as last counted, or as the count under way will say. */
  #kept: Promise<PathTotals> = Promise.resolve({ count: 0, bytes: 0 });
  /** A count on a thread is under way; another is wanted after it. */
  #counting = false;
  #countAgain = false;

  constructor(options: StoreMonitorOptions) {
    this.#options = options;
    this.#countAll();
    this.#publishTotals();
    this.rootsChanged();
  }

  /** Looks at what was registered or deleted since the last scan; returns how many are new. */
  scan(): number {
    const { index, metrics } = this.#options;
    const fresh = index.snapshot(() => {
      const rows = index.rowsAfter(this.#lastId);
      if (index.countUpTo(this.#lastId) < this.#count) {
        // Paths were deleted (garbage collected): count again, once.
        this.#countAll();
      } else {
        this.#count += rows.length;
        for (const row of rows) this.#bytes += row.narSize;
        this.#lastId = rows.at(-1)?.id ?? this.#lastId;
      }
      return rows;
    });
    this.#publishTotals();
    if (fresh.length > 0) {
      // A burst of changes is scanned twice (see store-tasks.ts); the second finds nothing new
      // and must not hide what the first found.
      metrics.newPathsLastScan.set(fresh.length);
      metrics.newPaths.inc(fresh.length);
      this.#options.log.debug("new paths registered", { count: fresh.length });
      if (this.#options.pinNewPathsForDays !== undefined) {
        this.#pinNew(fresh, this.#options.pinNewPathsForDays);
      }
    }
    return fresh.length;
  }

  /**
   * Recounts the pins and the paths that their revisions keep alive: at once on a small store,
   * on a thread on a large one (the metrics follow when it is done; one count at a time, and
   * one more after it when the roots changed meanwhile).
   */
  rootsChanged(): void {
    const { roots, index, metrics, countInThread, log } = this.#options;
    if (this.#counting) {
      this.#countAgain = true;
      return;
    }
    const pins = roots.list();
    const targets = [...new Set(pins.flatMap((pin) => pin.revisions.map((r) => r.storePath)))];
    metrics.pins.set(pins.length);
    const threadFrom = this.#options.countInThreadFrom ?? COUNT_IN_THREAD_FROM;
    // No pins: nothing to count, and no thread (its isolate alone is ~10 MiB) for it.
    if (countInThread === undefined || this.#count < threadFrom || targets.length === 0) {
      const kept = index.closureTotals(targets);
      this.#kept = Promise.resolve(kept);
      this.#publishKept(kept);
      return;
    }
    this.#counting = true;
    const previous = this.#kept;
    const counting = countInThread(targets);
    this.#kept = counting.catch(() => previous);
    counting
      .then(
        (kept) => {
          this.#publishKept(kept);
        },
        (error: unknown) => {
          log.warn("could not count what the pins keep", { detail: String(error) });
        },
      )
      .finally(() => {
        this.#counting = false;
        if (!this.#countAgain) return;
        this.#countAgain = false;
        // Called from a promise: what a direct caller would catch (an unreadable roots
        // directory) must not end the process here.
        try {
          this.rootsChanged();
        } catch (error) {
          log.warn("could not count what the pins keep", { detail: String(error) });
        }
      });
  }

  /** What the pins keep: the last count, or the one under way once it is done. */
  kept(): Promise<PathTotals> {
    return this.#kept;
  }

  #publishKept(kept: PathTotals): void {
    this.#options.metrics.pinnedPaths.set(kept.count);
    this.#options.metrics.pinnedBytes.set(kept.bytes);
  }

  #publishTotals(): void {
    this.#options.metrics.validPaths.set(this.#count);
    this.#options.metrics.narBytes.set(this.#bytes);
  }

  #countAll(): void {
    const totals = this.#options.index.totals();
    this.#count = totals.count;
    this.#bytes = totals.bytes;
    this.#lastId = Math.max(this.#lastId, totals.maxId);
  }

  /**
   * Pins the top-level paths among `fresh` (those no other fresh path refers to). A closure
   * may arrive over several scans, references first (`nix copy` registers paths as they come):
   * a pin made earlier for a path anywhere in a new top-level path's closure, not only among
   * its direct references, is dropped, since the new pin keeps it at least as long (or, for a
   * new derivation's inputs, since they were inputs of a build and not what was pushed).
   */
  #pinNew(fresh: readonly NewPath[], days: number): void {
    const { index, roots, log, storeDir } = this.#options;
    const topLevel = index.topLevel(fresh);
    // Outputs, not derivations: a build registers its `.drv` (which no output refers to) even
    // when it fails, and a derivation's closure is its inputs, not what it built. Sources that
    // only a new `.drv` refers to are not top-level, so they are not pinned either.
    for (const path of topLevel.filter((p) => !isDerivation(p.path))) {
      const baseName = storePathBaseName(storeDir, path.path);
      if (baseName === undefined) continue;
      roots.pin(autoPinName(baseName), path.path, { kind: "days", days });
      log.info("pinned new path", { path: path.path, days });
    }
    for (const reference of index.closureOf(topLevel)) {
      const baseName = storePathBaseName(storeDir, reference);
      if (baseName === undefined) continue;
      const name = autoPinName(baseName);
      const pin = roots.get(name);
      if (pin?.revisions.length === 1 && pin.retention.kind === "days") roots.unpin(name);
    }
  }
}

/** Whether `storePath` is a derivation (`<hash>-<name>.drv`). */
function isDerivation(storePath: string): boolean {
  return storePath.endsWith(".drv");
}
