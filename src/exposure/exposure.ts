// `[exposure] only_closures_of`: the paths served are the closures of chosen roots, and nothing
// else. The set is a bitmap of ValidPaths ids (id-set.ts) that the store source asks on every
// lookup (store/database.ts), so a path outside it is, to every route, a path that does not
// exist. It follows the roots: a root added extends the set by what it adds; a root gone makes
// the set computed anew (a path may be reachable from another root, which only a full walk
// knows) and swapped in whole, so that a lookup never sees half a set.

import { ConfigError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { ClosureIndex, type PathRow } from "./closure-index.ts";
import { IdSet } from "./id-set.ts";
import { PINS_ENTRY, resolveEntry, type StoreDirs } from "./roots.ts";

export interface ExposureOptions {
  /** `[exposure] only_closures_of`, not empty. */
  readonly entries: readonly string[];
  readonly includeDerivers: boolean;
  readonly dbPath: string;
  readonly dirs: StoreDirs;
  /** The store paths of every pin revision (the `pins` entry). */
  readonly pinnedPaths: () => readonly string[];
  readonly log: Logger;
  /** Called when paths stop being served: whatever was cached for them must go. */
  readonly onShrink: () => void;
}

export interface ServedTotals {
  readonly paths: number;
  readonly bytes: number;
}

interface ResolvedRoots {
  readonly rows: ReadonlyMap<number, PathRow>;
  readonly watch: ReadonlySet<string>;
}

interface ServedSet {
  readonly ids: IdSet;
  bytes: number;
  roots: ReadonlyMap<number, PathRow>;
  /** The largest ValidPaths id when last looked at: derivations after it are new. */
  lastId: number;
}

export class Exposure {
  readonly #options: ExposureOptions;
  readonly #index: ClosureIndex;
  /** Computed on first use: a process that serves nothing (a cluster's primary) never pays. */
  #served: ServedSet | undefined;
  #watch: ReadonlySet<string> = new Set();
  /** Entries that resolve to nothing now, warned about once until they come back. */
  readonly #missing = new Set<string>();

  /**
   * Checks every entry as it is now; throws a ConfigError naming the first one that is not
   * absolute, does not exist, or is no root or store path.
   */
  constructor(options: ExposureOptions) {
    this.#options = options;
    this.#index = new ClosureIndex(options.dbPath, options.includeDerivers);
    try {
      this.#watch = this.#resolve((entry, problem) => {
        throw new ConfigError(
          `"exposure.only_closures_of": entry ${JSON.stringify(entry)} ${problem}; give "${PINS_ENTRY}", a GC root or profile, a directory of roots, or a store path`,
        );
      }).watch;
    } catch (error) {
      this.#index.close();
      throw error;
    }
  }

  /** The entries as configured, for the landing page. */
  get entries(): readonly string[] {
    return this.#options.entries;
  }

  /** Whether the row `id` of ValidPaths is served: O(1), on every lookup. */
  serves(id: number): boolean {
    return this.#set().ids.has(id);
  }

  totals(): ServedTotals {
    const set = this.#set();
    return { paths: set.ids.size, bytes: set.bytes };
  }

  /** Directories whose changes may change the roots (as of the last look). */
  get watchedDirs(): ReadonlySet<string> {
    return this.#watch;
  }

  /**
   * Looks at the roots and the store again and brings the set up to date. One at a time: the
   * caller (watch.ts) never starts one before the last one is done.
   */
  async refresh(): Promise<void> {
    const before = this.#served;
    const resolved = this.#index.snapshot(() => this.#resolveNow());
    const gone =
      before === undefined || [...before.roots.keys()].some((id) => !resolved.rows.has(id));
    if (gone) {
      // Computed aside while lookups use the set before, then swapped in whole.
      this.#served = await this.#computeInBatches(resolved);
      if (before !== undefined) this.#options.onShrink();
      return;
    }
    this.#index.snapshot(() => {
      const added = [...resolved.rows.values()].filter((row) => !before.roots.has(row.id));
      this.#add(before, added);
      before.roots = resolved.rows;
      if (this.#options.includeDerivers) this.#addNewDerivers(before);
      before.lastId = Math.max(before.lastId, this.#index.maxId());
    });
  }

  close(): void {
    this.#index.close();
  }

  /** The set; computed at once if no look made it yet (--check-config, a lookup at start). */
  #set(): ServedSet {
    this.#served ??= this.#index.snapshot(() => this.#compute(this.#resolveNow()));
    return this.#served;
  }

  async #computeInBatches(resolved: ResolvedRoots): Promise<ServedSet> {
    const ids = new IdSet();
    let bytes = 0;
    const lastId = await this.#index.closureInBatches([...resolved.rows.keys()], (row) => {
      if (ids.add(row.id)) bytes += row.narSize;
    });
    return { ids, bytes, roots: resolved.rows, lastId };
  }

  #compute(resolved: ResolvedRoots): ServedSet {
    const ids = new IdSet();
    let bytes = 0;
    for (const row of this.#index.closure([...resolved.rows.keys()])) {
      if (ids.add(row.id)) bytes += row.narSize;
    }
    return { ids, bytes, roots: resolved.rows, lastId: this.#index.maxId() };
  }

  #add(set: ServedSet, roots: readonly PathRow[]): void {
    for (const row of this.#index.extend(set.ids, roots)) set.bytes += row.narSize;
  }

  /**
   * A derivation registered after its outputs (instantiated again, or copied in later) is the
   * deriver of paths already served: it joins the set when one of its outputs is in it.
   */
  #addNewDerivers(set: ServedSet): void {
    for (const { row, outputs } of this.#index.derivationsAfter(set.lastId)) {
      if (outputs.some((id) => set.ids.has(id))) this.#add(set, [row]);
    }
  }

  /** The roots now; an entry gone since the start is warned about and serves nothing. */
  #resolveNow(): ResolvedRoots {
    const resolved = this.#resolve((entry, problem) => {
      if (this.#missing.has(entry)) return;
      this.#missing.add(entry);
      this.#options.log.warn("a root of exposure.only_closures_of is gone; it serves nothing", {
        entry,
        problem,
      });
    });
    this.#watch = resolved.watch;
    return resolved;
  }

  #resolve(onProblem: (entry: string, problem: string) => void): ResolvedRoots {
    const { entries, dirs, pinnedPaths } = this.#options;
    const rows = new Map<number, PathRow>();
    const watch = new Set<string>();
    const addPath = (storePath: string): void => {
      const row = this.#index.row(storePath);
      if (row !== undefined) rows.set(row.id, row);
    };
    for (const entry of entries) {
      if (entry === PINS_ENTRY) {
        for (const storePath of pinnedPaths()) addPath(storePath);
        continue;
      }
      // The directory above an entry sees it come back, or be replaced, as well as go.
      if (entry.startsWith("/")) watch.add(entry.replace(/\/[^/]*$/, "") || "/");
      const result = resolveEntry(
        entry,
        dirs,
        (storePath) => this.#index.row(storePath) !== undefined,
      );
      if (result.kind === "problem") {
        onProblem(entry, result.problem);
        continue;
      }
      if (this.#missing.delete(entry)) {
        this.#options.log.info("a root of exposure.only_closures_of is back", { entry });
      }
      for (const dir of result.watch) watch.add(dir);
      for (const storePath of result.storePaths) addPath(storePath);
    }
    return { rows, watch };
  }
}
