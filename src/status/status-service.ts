// The status page's data source in a running storefront: the store's figures measured at most
// once per CACHE_MS, whatever the number of requests, and the state read for each range.
//
// What a measurement costs (see store/db/store-overview.ts): a pass over ValidPaths and one
// over Refs into typed arrays, a walk of integers per closure (the pins', and the
// TOP_LEVEL_CANDIDATES newest top-level paths'), and a statfs: well under a second on a store
// of 100k paths, paid at most once per CACHE_MS per process, and only while someone looks;
// nothing walks the store's files.

import { statfsSync } from "node:fs";
import type { StateReader } from "../state/records.ts";
import type { Overview, OverviewRequest } from "../store/db/store-overview.ts";
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

/** What the page asks of Nix's database; store/db/overview-thread.ts answers it. */
export interface StoreOverviewSource {
  measure(request: OverviewRequest): Promise<Overview>;
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
   * those (of the TOP_LEVEL_CANDIDATES newest top-level paths). Undefined: the whole store.
   */
  readonly serves?: ((id: number) => boolean) | undefined;
  /**
   * Whether a store path is served (`[exposure]`): pins and pushes of paths that are not are
   * left off the page, which would otherwise name what the cache hides. Undefined: all are.
   */
  readonly servesPath?: ((storePath: string) => boolean) | undefined;
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
  /** The latest measurement, from its start: requests while it runs share it. */
  #measured: { readonly at: number; readonly store: Promise<StoreStatus> } | undefined;

  constructor(options: StatusServiceOptions) {
    this.#options = options;
  }

  async status(range: StatusRange): Promise<StatusData> {
    const store = await this.#store();
    return assembleStatus({
      now: this.#now(),
      range,
      store,
      state: this.#options.state,
      budget: this.#options.budget,
      shows: this.#options.servesPath,
    });
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  #store(): Promise<StoreStatus> {
    const now = this.#now();
    const measured = this.#measured;
    if (measured !== undefined && now - measured.at < CACHE_MS && now >= measured.at) {
      return measured.store;
    }
    const store = this.#measure();
    this.#measured = { at: now, store };
    // A failed measurement is not kept: the next request tries again.
    store.catch(() => {
      if (this.#measured?.store === store) this.#measured = undefined;
    });
    return store;
  }

  async #measure(): Promise<StoreStatus> {
    const { overview, pins, storeDir, realStoreDir, serves, servesPath } = this.#options;
    const pinList = [...pins.list()].sort((a, b) => a.name.localeCompare(b.name));
    const measured = await overview.measure({
      groups: pinList.map((pin) => pin.revisions.map((revision) => revision.storePath)),
      candidates: TOP_LEVEL_CANDIDATES,
    });
    const largest = measured.topLevel
      .filter((closure) => serves?.(closure.id) !== false)
      .sort((a, b) => b.bytes - a.bytes || a.storePath.localeCompare(b.storePath))
      .slice(0, LIMITS.largestClosures);
    return {
      storeDir,
      paths: measured.totals.paths,
      narBytes: measured.totals.bytes,
      freeBytes: freeSpace(realStoreDir) ?? null,
      pins: pinList
        .map((pin, i) => ({
          name: pin.name,
          revisions: pin.revisions.length,
          storePath: pin.revisions.at(-1)?.storePath ?? "",
          closurePaths: measured.groupClosures[i]?.paths ?? 0,
          closureBytes: measured.groupClosures[i]?.bytes ?? 0,
        }))
        .filter((pin) => servesPath?.(pin.storePath) !== false),
      largestClosures: largest.map((closure) => ({
        storePath: closure.storePath,
        closurePaths: closure.paths,
        closureBytes: closure.bytes,
      })),
    };
  }
}
