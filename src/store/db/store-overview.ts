// The store as the status page shows it: its totals, what each pin keeps alive, and the largest
// closures among the store's top-level paths. A read-only connection of its own (as
// store-index.ts), opened only where the page is served.
//
// The cost, on a store of P valid paths: the totals are one pass over ValidPaths (tens of ms for
// 100k paths); the top-level paths are found walking ValidPaths from the newest row back, with
// an index probe of Refs per row, until `limit` are found; closures are one recursive query for
// all roots at once, whose cost is the sum of their closures' sizes. The caller keeps the
// answer for a few seconds (src/status/status-service.ts), so a reload of the page costs none.

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { openNixDatabase, query } from "./sqlite.ts";

export interface ClosureSize {
  /** Paths in the closure, the roots included. */
  readonly paths: number;
  /** Their NAR bytes. */
  readonly bytes: number;
}

export interface TopLevelClosure extends ClosureSize {
  /** ValidPaths.id, for a filter of served paths. */
  readonly id: number;
  readonly storePath: string;
}

export class StoreOverview {
  readonly #database: DatabaseSync;
  readonly #totals: StatementSync;
  readonly #recentTopLevel: StatementSync;
  readonly #closuresByRoot: StatementSync;
  readonly #closuresOfGroups: StatementSync;

  constructor(path: string) {
    const { database, statements } = openNixDatabase(path, (db) => ({
      totals: db.prepare(
        "SELECT COUNT(*) AS paths, COALESCE(SUM(narSize), 0) AS bytes FROM ValidPaths",
      ),
      // Outputs that no other path refers to (Refs has an index on `reference`), newest first:
      // what was built or pushed, not a dependency of it. Derivations are left out: a `.drv`'s
      // closure is its build inputs, not something a client downloads.
      recentTopLevel: db.prepare(
        `SELECT v.id AS id, v.path AS path FROM ValidPaths v
         WHERE v.path NOT LIKE '%.drv'
           AND NOT EXISTS (SELECT 1 FROM Refs r WHERE r.reference = v.id AND r.referrer != v.id)
         ORDER BY v.id DESC LIMIT ?`,
      ),
      // The closure of each root id of a JSON array, each root counted apart.
      closuresByRoot: db.prepare(
        `WITH RECURSIVE closure(root, id) AS (
           SELECT value, value FROM json_each(?)
           UNION SELECT c.root, r.reference FROM Refs r JOIN closure c ON r.referrer = c.id)
         SELECT c.root AS root, COUNT(*) AS paths, COALESCE(SUM(v.narSize), 0) AS bytes
         FROM closure c JOIN ValidPaths v ON v.id = c.id GROUP BY c.root`,
      ),
      // The closure of each group of store paths (a JSON array of [group, path] pairs): the
      // union of its paths' closures, counted once per group.
      closuresOfGroups: db.prepare(
        `WITH RECURSIVE closure(grp, id) AS (
           SELECT json_extract(j.value, '$[0]'), v.id FROM json_each(?) j
             JOIN ValidPaths v ON v.path = json_extract(j.value, '$[1]')
           UNION SELECT c.grp, r.reference FROM Refs r JOIN closure c ON r.referrer = c.id)
         SELECT c.grp AS grp, COUNT(*) AS paths, COALESCE(SUM(v.narSize), 0) AS bytes
         FROM closure c JOIN ValidPaths v ON v.id = c.id GROUP BY c.grp`,
      ),
    }));
    this.#database = database;
    this.#totals = statements.totals;
    this.#recentTopLevel = statements.recentTopLevel;
    this.#closuresByRoot = statements.closuresByRoot;
    this.#closuresOfGroups = statements.closuresOfGroups;
  }

  /** Valid paths and their NAR bytes. */
  totals(): ClosureSize {
    const row = this.#run("totals", () => this.#totals.get());
    return { paths: Number(row?.["paths"]), bytes: Number(row?.["bytes"]) };
  }

  /**
   * The closures of the `candidates` most recently registered top-level paths, largest first,
   * at most `limit`, of those that `keep` accepts (by ValidPaths.id).
   */
  largestTopLevelClosures(
    candidates: number,
    limit: number,
    keep: (id: number) => boolean = () => true,
  ): TopLevelClosure[] {
    const tops = (
      this.#run("top-level paths", () => this.#recentTopLevel.all(candidates)) as {
        id: number;
        path: string;
      }[]
    ).filter((top) => keep(top.id));
    if (tops.length === 0) return [];
    const sizes = this.#run("closures", () =>
      this.#closuresByRoot.all(JSON.stringify(tops.map((top) => top.id))),
    ) as { root: number; paths: number; bytes: number }[];
    const pathOf = new Map(tops.map((top) => [top.id, top.path]));
    return sizes
      .map((size) => ({
        id: size.root,
        storePath: pathOf.get(size.root) ?? "",
        paths: size.paths,
        bytes: size.bytes,
      }))
      .sort((a, b) => b.bytes - a.bytes || a.storePath.localeCompare(b.storePath))
      .slice(0, limit);
  }

  /**
   * The closure of each group of store paths (e.g. a pin's revisions), by index in `groups`;
   * paths that are not valid count for nothing, and a group of none has an empty closure.
   */
  closuresOf(groups: readonly (readonly string[])[]): ClosureSize[] {
    const pairs = groups.flatMap((paths, group) => paths.map((path) => [group, path]));
    const sizes: ClosureSize[] = groups.map(() => ({ paths: 0, bytes: 0 }));
    if (pairs.length === 0) return sizes;
    const rows = this.#run("pin closures", () =>
      this.#closuresOfGroups.all(JSON.stringify(pairs)),
    ) as { grp: number; paths: number; bytes: number }[];
    for (const row of rows) sizes[row.grp] = { paths: row.paths, bytes: row.bytes };
    return sizes;
  }

  /** Runs `read` in one read transaction: its queries all see the same state of the store. */
  snapshot<T>(read: () => T): T {
    this.#database.exec("BEGIN");
    try {
      return read();
    } finally {
      this.#database.exec("COMMIT");
    }
  }

  close(): void {
    this.#database.close();
  }

  #run<T>(what: string, run: () => T): T {
    return query(`(${what})`, run);
  }
}
