// Questions about the store as a whole, for pins and store metrics: is a path valid, which rows
// are new since the last look, what a set of paths keeps alive. A connection of its own, opened
// read-only but not immutable like the one that serves requests, so that the serving queries
// stay as they are and these run only where they are needed (the daemon's watcher, the CLI).

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { openNixDatabase, query } from "./sqlite.ts";

// ValidPaths.id is `autoincrement`: Nix's ids only grow and are never reused, so "rows with an
// id above the last one seen" are exactly the paths registered since.

export interface NewPath {
  /** ValidPaths.id: ids grow, so the largest seen marks where the next look starts. */
  readonly id: number;
  readonly path: string;
  readonly narSize: number;
}

/** A valid path as the budget weighs it. */
export interface PathRow {
  readonly id: number;
  readonly path: string;
  readonly narSize: number;
  /** When Nix registered it, in ms since the epoch. */
  readonly registered: number;
}

/**
 * References as parallel arrays of ValidPaths ids: `referrers[i]` refers to `references[i]`.
 * Typed arrays, 8 bytes a reference: a budget run on a store of a million dead paths reads
 * five million of them, which as objects took gigabytes.
 */
export interface ReferencePairs {
  readonly referrers: Int32Array;
  readonly references: Int32Array;
}

export interface PathTotals {
  readonly count: number;
  readonly bytes: number;
}

export class StoreIndex {
  readonly #database: DatabaseSync;
  readonly #isValid: StatementSync;
  readonly #rowsAfter: StatementSync;
  readonly #countUpTo: StatementSync;
  readonly #totals: StatementSync;
  readonly #referencesOf: StatementSync;
  readonly #closureOf: StatementSync;
  readonly #closureTotals: StatementSync;
  readonly #pathRows: StatementSync;
  readonly #allPathRows: StatementSync;
  readonly #allReferences: StatementSync;
  readonly #maxId: StatementSync;

  constructor(path: string) {
    const { database, statements } = openNixDatabase(path, (db) => ({
      isValid: db.prepare("SELECT 1 FROM ValidPaths WHERE path = ?"),
      rowsAfter: db.prepare("SELECT id, path, narSize FROM ValidPaths WHERE id > ? ORDER BY id"),
      // Walks the primary key's range: cheap next to a scan of every column.
      countUpTo: db.prepare("SELECT COUNT(*) AS count FROM ValidPaths WHERE id <= ?"),
      totals: db.prepare(
        "SELECT COUNT(*) AS count, COALESCE(SUM(narSize), 0) AS bytes, COALESCE(MAX(id), 0) AS maxId FROM ValidPaths",
      ),
      // The references of the ids in a JSON array; those to ids of the array are kept in JS:
      // a second IN over the array would probe the index for every pair of ids.
      referencesOf: db.prepare(
        `SELECT r.referrer AS referrer, r.reference AS reference FROM Refs r
         WHERE r.referrer IN (SELECT value FROM json_each(?1)) AND r.referrer != r.reference`,
      ),
      closureOf: db.prepare(
        `WITH RECURSIVE closure(id) AS (
           SELECT r.reference FROM Refs r WHERE r.referrer IN (SELECT value FROM json_each(?1))
           UNION SELECT r.reference FROM Refs r JOIN closure c ON r.referrer = c.id)
         SELECT v.path AS path FROM closure c JOIN ValidPaths v ON v.id = c.id
         WHERE c.id NOT IN (SELECT value FROM json_each(?1))`,
      ),
      closureTotals: db.prepare(
        `WITH RECURSIVE closure(id) AS (
           SELECT id FROM ValidPaths WHERE path IN (SELECT value FROM json_each(?))
           UNION SELECT r.reference FROM Refs r JOIN closure c ON r.referrer = c.id)
         SELECT COUNT(*) AS count, COALESCE(SUM(v.narSize), 0) AS bytes
         FROM closure c JOIN ValidPaths v ON v.id = c.id`,
      ),
      pathRows: db.prepare(
        "SELECT id, path, narSize, registrationTime FROM ValidPaths WHERE path IN (SELECT value FROM json_each(?))",
      ),
      // For long lists (see LONG_LIST): every row, filtered in JS.
      allPathRows: db.prepare("SELECT id, path, narSize, registrationTime FROM ValidPaths"),
      maxId: db.prepare("SELECT COALESCE(MAX(id), 0) AS maxId FROM ValidPaths"),
      allReferences: db.prepare("SELECT referrer, reference FROM Refs WHERE referrer != reference"),
    }));
    this.#database = database;
    this.#isValid = statements.isValid;
    this.#rowsAfter = statements.rowsAfter;
    this.#countUpTo = statements.countUpTo;
    this.#totals = statements.totals;
    this.#referencesOf = statements.referencesOf;
    this.#closureOf = statements.closureOf;
    this.#closureTotals = statements.closureTotals;
    this.#pathRows = statements.pathRows;
    this.#allPathRows = statements.allPathRows;
    this.#allReferences = statements.allReferences;
    this.#maxId = statements.maxId;
    // Rows as [referrer, reference]: no object with named fields for each of millions of them.
    this.#referencesOf.setReturnArrays(true);
    this.#allReferences.setReturnArrays(true);
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

  /** Whether no path is valid: a new store that Nix has put nothing in yet. */
  isEmpty(): boolean {
    // Asked once, at start: prepared here rather than kept.
    const row = this.#run("any path", () =>
      this.#database.prepare("SELECT 1 FROM ValidPaths LIMIT 1").get(),
    );
    return row === undefined;
  }

  isValid(storePath: string): boolean {
    return this.#run("validity", () => this.#isValid.get(storePath)) !== undefined;
  }

  /** Rows registered after `id`, oldest first. */
  rowsAfter(id: number): NewPath[] {
    const rows = this.#run("new paths", () => this.#rowsAfter.all(id)) as {
      id: number;
      path: string;
      narSize: number | null;
    }[];
    return rows.map((row) => ({ id: row.id, path: row.path, narSize: row.narSize ?? 0 }));
  }

  /** How many valid paths have an id up to `id`: fewer than before means paths were deleted. */
  countUpTo(id: number): number {
    return (this.#run("count", () => this.#countUpTo.get(id)) as { count: number }).count;
  }

  /** Every valid path counted, with the largest id: one pass over the table, for rare use. */
  totals(): PathTotals & { maxId: number } {
    const row = this.#run("totals", () => this.#totals.get());
    return {
      count: Number(row?.["count"]),
      bytes: Number(row?.["bytes"]),
      maxId: Number(row?.["maxId"]),
    };
  }

  /** The paths among `paths` (new rows) that no other of them refers to. */
  topLevel(paths: readonly NewPath[]): NewPath[] {
    const referenced = new Set(this.referencesAmong(paths.map((p) => p.id)).references);
    return paths.filter((p) => !referenced.has(p.id));
  }

  /** The paths in the closures of `paths`, not `paths` themselves. */
  closureOf(paths: readonly NewPath[]): string[] {
    const ids = JSON.stringify(paths.map((p) => p.id));
    return (this.#run("references", () => this.#closureOf.all(ids)) as { path: string }[]).map(
      (row) => row.path,
    );
  }

  /** Paths in the closures of `storePaths`, and their total NAR size. */
  closureTotals(storePaths: readonly string[]): PathTotals {
    if (storePaths.length === 0) return { count: 0, bytes: 0 };
    const row = this.#run("closure", () => this.#closureTotals.get(JSON.stringify(storePaths)));
    return { count: Number(row?.["count"]), bytes: Number(row?.["bytes"]) };
  }

  /** The valid paths among `storePaths`, with their NAR size and registration time. */
  pathRows(storePaths: readonly string[]): PathRow[] {
    if (storePaths.length === 0) return [];
    const result: PathRow[] = [];
    const wanted = this.#isLong(storePaths.length) ? new Set(storePaths) : undefined;
    this.#run("paths", () => {
      const rows = (
        wanted === undefined
          ? this.#pathRows.iterate(JSON.stringify(storePaths))
          : this.#allPathRows.iterate()
      ) as Iterable<{
        id: number;
        path: string;
        narSize: number | null;
        registrationTime: number | null;
      }>;
      for (const row of rows) {
        if (wanted !== undefined && !wanted.has(row.path)) continue;
        result.push({
          id: row.id,
          path: row.path,
          narSize: row.narSize ?? 0,
          registered: (row.registrationTime ?? 0) * 1000,
        });
      }
    });
    return result;
  }

  /** The references between the paths of `ids` (each end among them, none to itself). */
  referencesAmong(ids: readonly number[]): ReferencePairs {
    const pairs = new PairsBuilder();
    if (ids.length === 0) return pairs.done();
    const among = new Set(ids);
    const long = this.#isLong(ids.length);
    this.#run("references", () => {
      // A row at a time: the rows of a million paths never exist all at once.
      const statement = long ? this.#allReferences : this.#referencesOf;
      const rows = (
        long ? statement.iterate() : statement.iterate(JSON.stringify(ids))
      ) as Iterable<[number, number]>;
      for (const [referrer, reference] of rows) {
        if (long && !among.has(referrer)) continue;
        if (among.has(reference)) pairs.push(referrer, reference);
      }
    });
    return pairs.done();
  }

  close(): void {
    this.#database.close();
  }

  /** Whether a list of `length` paths is read with a scan (see LONG_LIST). */
  #isLong(length: number): boolean {
    if (length < LONG_LIST) return false;
    // The largest id is one probe of the primary key; it counts deleted rows too, so the
    // store is taken for a little larger than it is.
    const row = this.#run("count", () => this.#maxId.get()) as { maxId: number };
    return length * 2 >= row.maxId;
  }

  #run<T>(what: string, run: () => T): T {
    return query(`(${what})`, run);
  }
}

/**
 * A lookup of this many paths or more, when they are half the store or more, reads the whole
 * table once rather than probing its index for each path through a JSON list. For the budget's
 * million dead paths the list alone was ~80 MB of JSON that SQLite parsed and held, and the
 * probes took ~5 µs a path (rows) and ~9 µs (references), where a scan takes ~3.6 µs a path
 * of the store: the scan wins once the list is about half the store, never for a short list
 * on a large store.
 */
const LONG_LIST = 20_000;

/** ReferencePairs made a pair at a time, in arrays that double as they fill. */
class PairsBuilder {
  #referrers = new Int32Array(1024);
  #references = new Int32Array(1024);
  #length = 0;

  push(referrer: number, reference: number): void {
    if (this.#length === this.#referrers.length) {
      const referrers = new Int32Array(this.#length * 2);
      referrers.set(this.#referrers);
      this.#referrers = referrers;
      const references = new Int32Array(this.#length * 2);
      references.set(this.#references);
      this.#references = references;
    }
    this.#referrers[this.#length] = referrer;
    this.#references[this.#length] = reference;
    this.#length++;
  }

  done(): ReferencePairs {
    return {
      referrers: this.#referrers.slice(0, this.#length),
      references: this.#references.slice(0, this.#length),
    };
  }
}
