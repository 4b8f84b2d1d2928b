// The status page's data source in a running storefront: the store's figures measured at most
// once per CACHE_MS, whatever the number of requests, and the state read for each range.
//
// What a measurement costs (see store/db/store-overview.ts): one pass over ValidPaths for the
// totals, a walk back from the newest row to find TOP_LEVEL_CANDIDATES top-level paths, one
// recursive query for their closures and one for the pins' closures, and a statfs. That is
// tens of milliseconds on a store of 100k paths, paid at most once per CACHE_MS per process;
// nothing walks the store's files.

import { statfsSync } from "node:fs";
import type { StateReader } from "../state/records.ts";
import type { ClosureSize, TopLevelClosure } from "../store/db/store-overview.ts";
import type { Pin } from "../store/roots/gc-roots.ts";
import {
  assembleStatus,
  LIMITS,
  TOP_LEVEL_CANDIDATES,
  type Budget,
  type StatusData,
  type StatusRange,
  type StoreStatus,
} from "./status-data.ts";

/** How long a measurement of the store is shown before it is taken again. */
export const CACHE_MS = 10_000;

/** What the page asks of Nix's database; store/db/store-overview.ts answers it. */
export interface StoreOverviewSource {
  totals(): ClosureSize;
  largestTopLevelClosures(
    candidates: number,
    limit: number,
    keep?: (id: number) => boolean,
  ): TopLevelClosure[];
  closuresOf(groups: readonly (readonly string[])[]): ClosureSize[];
  snapshot<T>(read: () => T): T;
}

export interface PinList {
  list(): Pin[];
}

export interface StatusServiceOptions {
  readonly overview: StoreOverviewSource;
  readonly pins: PinList;
  /** The store directory as clients see it, and where its files are (for statfs). */
  readonly storeDir: string;
  readonly realStoreDir: string;
  /** storefront's state database; undefined: none (the page says "no history yet"). */
  readonly state?: StateReader | undefined;
  /** `[gc]`'s budget; undefined: none. */
  readonly budget?: Budget | undefined;
  /**
   * Which paths are served (`[exposure]`), by ValidPaths.id: the largest closures name only
   * those. Undefined: the whole store.
   */
  readonly serves?: ((id: number) => boolean) | undefined;
  /** Milliseconds since the epoch; default: Date.now. */
  readonly now?: () => number;
}

/** Free bytes for an unprivileged user on the file system of `dir`; undefined if unknown. */
export function freeSpace(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

export class StatusService {
  readonly #options: StatusServiceOptions;
  #measured: { readonly at: number; readonly store: StoreStatus } | undefined;

  constructor(options: StatusServiceOptions) {
    this.#options = options;
  }

  status(range: StatusRange): StatusData {
    const now = (this.#options.now ?? Date.now)();
    return assembleStatus({
      now,
      range,
      store: this.#store(now),
      state: this.#options.state,
      budget: this.#options.budget,
    });
  }

  #store(now: number): StoreStatus {
    const measured = this.#measured;
    if (measured !== undefined && now - measured.at < CACHE_MS && now >= measured.at) {
      return measured.store;
    }
    const store = this.#measure();
    this.#measured = { at: now, store };
    return store;
  }

  #measure(): StoreStatus {
    const { overview, pins, storeDir, realStoreDir, serves } = this.#options;
    const pinList = [...pins.list()].sort((a, b) => a.name.localeCompare(b.name));
    const measured = overview.snapshot(() => ({
      totals: overview.totals(),
      pinClosures: overview.closuresOf(
        pinList.map((pin) => pin.revisions.map((revision) => revision.storePath)),
      ),
      largest: overview.largestTopLevelClosures(
        TOP_LEVEL_CANDIDATES,
        LIMITS.largestClosures,
        serves,
      ),
    }));
    return {
      storeDir,
      paths: measured.totals.paths,
      narBytes: measured.totals.bytes,
      freeBytes: freeSpace(realStoreDir) ?? null,
      pins: pinList.map((pin, i) => ({
        name: pin.name,
        revisions: pin.revisions.length,
        storePath: pin.revisions.at(-1)?.storePath ?? "",
        closurePaths: measured.pinClosures[i]?.paths ?? 0,
        closureBytes: measured.pinClosures[i]?.bytes ?? 0,
      })),
      largestClosures: measured.largest.map((closure) => ({
        storePath: closure.storePath,
        closurePaths: closure.paths,
        closureBytes: closure.bytes,
      })),
    };
  }
}
