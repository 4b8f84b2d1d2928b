// The store as the status page shows it: its totals, what each pin keeps alive, and the
// closures of the newest top-level paths. Run in a thread of its own (overview-thread.ts), with
// a read-only connection of its own, so that serving never waits for it.
//
// The cost of a measurement, on a store of P paths and R references: one pass over ValidPaths
// and one over Refs, read into typed arrays (reference-graph.ts), then a walk of integers per
// closure, O(its paths and references). On a synthetic store of 100k paths and 350k references
// whose closures hold up to 92k paths each (far more than a NixOS system's 2k): 6 s for the
// totals, two pins and the 200 newest top-level paths' closures, on this project's shared
// 2-core machine under a load of 20; SQLite's recursive query took 290 s for the same closures.
// Stores of ordinary closures take a fraction of that, most of it reading the two tables. The
// status page keeps a measurement for a few seconds (src/status/status-service.ts).

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { ReferenceGraph, type ClosureSize } from "./reference-graph.ts";
import { openNixDatabase, query } from "./sqlite.ts";

export type { ClosureSize } from "./reference-graph.ts";

export interface TopLevelClosure extends ClosureSize {
  /** ValidPaths.id, for a filter of served paths. */
  readonly id: number;
  readonly storePath: string;
}

export interface OverviewRequest {
  /** Groups of store paths (e.g. each pin's revisions): the closure of each group. */
  readonly groups: readonly (readonly string[])[];
  /** How many of the newest top-level paths to measure. */
  readonly candidates: number;
}

/** Plain data: it crosses from the measuring thread. */
export interface Overview {
  readonly totals: ClosureSize;
  /** By index in the request's `groups`; paths that are not valid count for nothing. */
  readonly groupClosures: readonly ClosureSize[];
  /** Newest first. */
  readonly topLevel: readonly TopLevelClosure[];
}

export class StoreOverview {
  readonly #database: DatabaseSync;
  readonly #paths: StatementSync;
  readonly #refs: StatementSync;
  readonly #idOf: StatementSync;
  readonly #pathOf: StatementSync;

  constructor(path: string) {
    const { database, statements } = openNixDatabase(path, (db) => ({
      paths: db.prepare(
        "SELECT id, COALESCE(narSize, 0), path LIKE '%.drv' FROM ValidPaths ORDER BY id",
      ),
      refs: db.prepare("SELECT referrer, reference FROM Refs"),
      idOf: db.prepare("SELECT id FROM ValidPaths WHERE path = ?"),
      pathOf: db.prepare("SELECT path FROM ValidPaths WHERE id = ?"),
    }));
    // Rows as arrays: no object per row, for the passes over whole tables.
    statements.paths.setReturnArrays(true);
    statements.refs.setReturnArrays(true);
    this.#database = database;
    this.#paths = statements.paths;
    this.#refs = statements.refs;
    this.#idOf = statements.idOf;
    this.#pathOf = statements.pathOf;
  }

  /** Everything the status page asks, from one consistent state of the store. */
  measure(request: OverviewRequest): Overview {
    return this.#snapshot(() => {
      const graph = this.#graph();
      const groupClosures = request.groups.map((paths) =>
        graph.closure(paths.flatMap((path) => this.#id(path) ?? [])),
      );
      const topLevel = graph
        .newestTopLevel(request.candidates)
        .map((id) => ({ id, storePath: this.#path(id), ...graph.closure([id]) }));
      return { totals: graph.totals(), groupClosures, topLevel };
    });
  }

  close(): void {
    this.#database.close();
  }

  #graph(): ReferenceGraph {
    const paths = this.#run("paths", () => this.#paths.all()) as unknown as [
      number,
      number,
      number,
    ][];
    const refs = this.#run("references", () => this.#refs.all()) as unknown as [number, number][];
    return new ReferenceGraph({
      ids: Int32Array.from(paths, (row) => row[0]),
      narSizes: Float64Array.from(paths, (row) => row[1]),
      derivations: Uint8Array.from(paths, (row) => row[2]),
      referrers: Int32Array.from(refs, (row) => row[0]),
      references: Int32Array.from(refs, (row) => row[1]),
    });
  }

  #id(storePath: string): number | undefined {
    const row = this.#run("a pinned path", () => this.#idOf.get(storePath));
    return row === undefined ? undefined : Number(row["id"]);
  }

  #path(id: number): string {
    const row = this.#run("a top-level path", () => this.#pathOf.get(id));
    return String(row?.["path"] ?? "");
  }

  /** Runs `read` in one read transaction: its queries all see the same state of the store. */
  #snapshot<T>(read: () => T): T {
    this.#database.exec("BEGIN");
    try {
      return read();
    } finally {
      this.#database.exec("COMMIT");
    }
  }

  #run<T>(what: string, run: () => T): T {
    return query(`(${what})`, run);
  }
}
