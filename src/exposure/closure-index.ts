// The queries that compute the served set, on a read-only connection of their own (the serving
// one stays as it is). Two ways to a closure: one recursive CTE for a whole set at once (a few
// SQLite steps per path), and a walk from new roots that stops at paths already served, so that
// a new generation of a profile costs what it adds, not its whole closure.

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { StorefrontError } from "../errors.ts";
import { openNixDatabase } from "../store/db/sqlite.ts";
import type { IdSet } from "./id-set.ts";

/**
 * Rows between two returns to the event loop while a big set is computed: 7-15 µs a row on
 * bench/exposure.ts's million-path store, so a request waits some 15-30 ms at most.
 */
const BATCH_ROWS = 2_000;

export interface PathRow {
  readonly id: number;
  readonly narSize: number;
}

export class ClosureIndex {
  readonly #database: DatabaseSync;
  readonly #idOf: StatementSync;
  readonly #closure: StatementSync;
  readonly #next: StatementSync;
  readonly #derivationsAfter: StatementSync;
  readonly #outputsOf: StatementSync;
  readonly #maxId: StatementSync;

  /** With `derivers`, a path's deriver (its `.drv`, when valid) is in its closure. */
  constructor(path: string, derivers: boolean) {
    // `path` is unique and indexed: the deriver's row is one index lookup away.
    const deriverStep = derivers
      ? `UNION SELECT d.id FROM closure c JOIN ValidPaths v ON v.id = c.id
           JOIN ValidPaths d ON d.path = v.deriver`
      : "";
    const { database, statements } = openNixDatabase(path, (db) => ({
      idOf: db.prepare("SELECT id, COALESCE(narSize, 0) AS narSize FROM ValidPaths WHERE path = ?"),
      closure: db.prepare(
        `WITH RECURSIVE closure(id) AS (
           SELECT value FROM json_each(?)
           UNION SELECT r.reference FROM Refs r JOIN closure c ON r.referrer = c.id
           ${deriverStep})
         SELECT c.id AS id, COALESCE(v.narSize, 0) AS narSize
         FROM closure c JOIN ValidPaths v ON v.id = c.id`,
      ),
      next: db.prepare(
        `SELECT v.id AS id, COALESCE(v.narSize, 0) AS narSize
         FROM Refs r JOIN ValidPaths v ON v.id = r.reference WHERE r.referrer = ?1` +
          (derivers
            ? ` UNION ALL SELECT d.id AS id, COALESCE(d.narSize, 0) AS narSize
                FROM ValidPaths v JOIN ValidPaths d ON d.path = v.deriver WHERE v.id = ?1`
            : ""),
      ),
      derivationsAfter: db.prepare(
        "SELECT id, COALESCE(narSize, 0) AS narSize FROM ValidPaths WHERE id > ? AND path LIKE '%.drv'",
      ),
      // The outputs a derivation was registered with (input-addressed ones name them).
      outputsOf: db.prepare(
        "SELECT v.id AS id FROM DerivationOutputs o JOIN ValidPaths v ON v.path = o.path WHERE o.drv = ?",
      ),
      maxId: db.prepare("SELECT COALESCE(MAX(id), 0) AS maxId FROM ValidPaths"),
    }));
    this.#database = database;
    this.#idOf = statements.idOf;
    this.#closure = statements.closure;
    this.#next = statements.next;
    this.#derivationsAfter = statements.derivationsAfter;
    this.#outputsOf = statements.outputsOf;
    this.#maxId = statements.maxId;
  }

  /** The row of a valid store path, or undefined. */
  row(storePath: string): PathRow | undefined {
    return this.#run(storePath, () => this.#idOf.get(storePath)) as PathRow | undefined;
  }

  /** The closure of `roots`, every row once (streamed: a big closure is never all in memory). */
  *closure(roots: readonly number[]): Generator<PathRow> {
    const rows = this.#run("closure", () =>
      this.#closure.iterate(JSON.stringify(roots)),
    ) as Iterable<PathRow>;
    yield* rows;
  }

  /**
   * The closure of `roots` given to `onRow` row by row, in one read transaction, with the event
   * loop handed back every BATCH_ROWS rows: computing the set of a million paths takes seconds,
   * during which requests go on being answered (from the set before). Returns the largest id
   * of the store as of that transaction.
   */
  async closureInBatches(roots: readonly number[], onRow: (row: PathRow) => void): Promise<number> {
    this.#database.exec("BEGIN");
    try {
      const maxId = this.maxId();
      const rows = this.#run("closure", () =>
        this.#closure.iterate(JSON.stringify(roots)),
      ) as Iterable<PathRow>;
      let count = 0;
      for (const row of rows) {
        onRow(row);
        if (++count % BATCH_ROWS === 0) {
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      return maxId;
    } finally {
      this.#database.exec("COMMIT");
    }
  }

  /**
   * Adds to `set` the closure of `roots`, walking only from paths not yet in it; returns the
   * rows added.
   */
  extend(set: IdSet, roots: readonly PathRow[]): PathRow[] {
    const added: PathRow[] = [];
    const pending = roots.filter((row) => set.add(row.id));
    added.push(...pending);
    for (let row = pending.pop(); row !== undefined; row = pending.pop()) {
      const next = this.#run("references", () => this.#next.all(row.id)) as unknown as PathRow[];
      for (const reference of next) {
        if (!set.add(reference.id)) continue;
        added.push(reference);
        pending.push(reference);
      }
    }
    return added;
  }

  /** Derivations registered after `id`, with the ids of their outputs that are valid. */
  derivationsAfter(id: number): { row: PathRow; outputs: number[] }[] {
    const rows = this.#run("derivations", () =>
      this.#derivationsAfter.all(id),
    ) as unknown as PathRow[];
    return rows.map((row) => ({
      row,
      outputs: (this.#run("outputs", () => this.#outputsOf.all(row.id)) as { id: number }[]).map(
        (output) => output.id,
      ),
    }));
  }

  maxId(): number {
    return (this.#run("max id", () => this.#maxId.get()) as { maxId: number }).maxId;
  }

  /** Runs `read` in one read transaction, so that its queries see one state of the store. */
  snapshot<T>(read: () => T): T {
    // Inside a transaction already (a lookup while the set is being computed): that one holds.
    if (this.#database.isTransaction) return read();
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
    try {
      return run();
    } catch (error) {
      throw new StorefrontError(
        "internal",
        `served set: query for ${what} failed: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
  }
}
