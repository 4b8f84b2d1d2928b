// Nix's SQLite database, read directly. Opened read-only so that we can never damage it, but
// not immutable: Nix keeps writing (in WAL mode) while we read, and we must see new paths.

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { deriverBaseName, isContentAddress, isSignature } from "../../core/nix/narinfo.ts";
import { openNixDatabase, query } from "./sqlite.ts";
import { narHashToNix32, type PathInfo, type PathNar } from "../../core/nix/path-info.ts";
import type { DrvOutput, Realisation } from "../../core/nix/realisation.ts";
import { storePathBaseName, type StoreHash } from "../../core/nix/store-path.ts";

interface ValidPathRow {
  id: number;
  path: string;
  hash: string;
  deriver: string | null;
  narSize: number | null;
  sigs: string | null;
  ca: string | null;
}

interface RealisationStatements {
  readonly realisation: StatementSync;
  /** Absent in the first CA schema, which had no RealisationsRefs. */
  readonly dependencies: StatementSync | undefined;
}

/**
 * Which registered paths may be served, by ValidPaths.id (see src/exposure/): a path it refuses
 * is answered exactly as one that does not exist, by every route, since they all ask here.
 */
export type ServedFilter = (id: number) => boolean;

export class StoreDatabase {
  readonly #database: DatabaseSync;
  readonly #storeDir: string;
  readonly #serves: ServedFilter | undefined;
  readonly #pathByHashPart: StatementSync;
  readonly #references: StatementSync;
  readonly #tableExists: StatementSync;
  /** Prepared on first use: the tables exist only once Nix has used CA derivations. */
  #realisationStatements: RealisationStatements | undefined;

  /** Opens the database at `path`; throws a StorefrontError naming the file when it cannot. */
  constructor(path: string, storeDir: string, serves?: ServedFilter) {
    const { database, statements } = openNixDatabase(path, (db) => ({
      // `path` is unique, so this walks its index to the first path at or after the prefix.
      pathByHashPart: db.prepare(
        "SELECT id, path, hash, deriver, narSize, sigs, ca FROM ValidPaths WHERE path >= ? ORDER BY path LIMIT 1",
      ),
      references: db.prepare(
        "SELECT v.path AS path FROM Refs r JOIN ValidPaths v ON r.reference = v.id WHERE r.referrer = ?",
      ),
      tableExists: db.prepare(
        "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?",
      ),
    }));
    this.#database = database;
    this.#pathByHashPart = statements.pathByHashPart;
    this.#references = statements.references;
    this.#tableExists = statements.tableExists;
    this.#storeDir = storeDir;
    this.#serves = serves;
  }

  /** The valid path whose hash part is `hash`, or undefined. */
  pathInfo(hash: StoreHash): PathInfo | undefined {
    const found = this.#validPath(hash);
    if (found === undefined) return undefined;
    const { row, narSize, narHash } = found;
    const references = (
      this.#query(hash, () => this.#references.all(row.id)) as { path: string }[]
    ).map((reference) => reference.path);
    // The references are part of what is signed: a path with one that is not a store path here
    // cannot be described truthfully, so it is not served. Nix writes none such.
    if (references.some((path) => storePathBaseName(this.#storeDir, path) === undefined)) {
      return undefined;
    }
    references.sort();
    // The other fields are optional in a narinfo: a malformed one is left out rather than
    // written into it (see core/narinfo.ts).
    return {
      storePath: row.path,
      narHash,
      narSize,
      references,
      deriver:
        row.deriver !== null && deriverBaseName(this.#storeDir, row.deriver) !== undefined
          ? row.deriver
          : undefined,
      signatures: row.sigs === null ? [] : row.sigs.split(" ").filter(isSignature),
      ca: row.ca !== null && isContentAddress(row.ca) ? row.ca : undefined,
    };
  }

  /** The valid path whose hash part is `hash`, with its NAR's hash and size only (one query). */
  pathNar(hash: StoreHash): PathNar | undefined {
    const found = this.#validPath(hash);
    return (
      found && {
        storePath: found.row.path,
        narHash: found.narHash,
        narSize: found.narSize,
        registration: found.row.id,
      }
    );
  }

  #validPath(hash: StoreHash): { row: ValidPathRow; narHash: string; narSize: number } | undefined {
    const prefix = `${this.#storeDir}/${hash}-`;
    const row = this.#query(hash, () => this.#pathByHashPart.get(prefix.slice(0, -1))) as
      ValidPathRow | undefined;
    if (row?.path.startsWith(prefix) !== true) return undefined;
    if (this.#serves?.(row.id) === false) return undefined;
    // Its name goes into narinfos, headers and file names: only a name Nix accepts.
    if (storePathBaseName(this.#storeDir, row.path) === undefined) return undefined;
    const narHash = narHashToNix32(row.hash);
    // Very old databases may lack a NarSize; such a path cannot be served with a known length.
    if (narHash === undefined || row.narSize === null || row.narSize <= 0) return undefined;
    return { row, narHash, narSize: row.narSize };
  }

  /** The realisation of a CA derivation's output, or undefined (also when Nix never made one). */
  realisation(id: DrvOutput): Realisation | undefined {
    const what = `${id.drvHash}!${id.outputName}`;
    const statements = this.#query(what, () => this.#realisationQueries());
    if (statements === undefined) return undefined;
    const row = this.#query(what, () => statements.realisation.get(id.drvHash, id.outputName)) as
      { id: number; pathId: number; path: string; signatures: string | null } | undefined;
    if (row === undefined) return undefined;
    if (this.#serves?.(row.pathId) === false) return undefined;
    const outPath = storePathBaseName(this.#storeDir, row.path);
    if (outPath === undefined) return undefined;
    const dependencies =
      statements.dependencies === undefined
        ? []
        : (this.#query(what, () => statements.dependencies?.all(row.id) ?? []) as {
            drvPath: string;
            outputName: string;
            pathId: number;
            path: string;
          }[]);
    // Signed with the realisation, so never left out: one that names a path not served is not
    // served either. Nix records as dependencies only those in the output's references, so
    // a served output's are served too.
    if (dependencies.some((dependency) => this.#serves?.(dependency.pathId) === false)) {
      return undefined;
    }
    return {
      id,
      outPath,
      signatures: (row.signatures ?? "").split(" ").filter(isSignature),
      dependentRealisations: dependencies.map((dependency) => ({
        id: { drvHash: dependency.drvPath, outputName: dependency.outputName },
        outPath: storePathBaseName(this.#storeDir, dependency.path) ?? dependency.path,
      })),
    };
  }

  close(): void {
    this.#database.close();
  }

  #realisationQueries(): RealisationStatements | undefined {
    if (this.#realisationStatements !== undefined) return this.#realisationStatements;
    if (this.#tableExists.get("Realisations") === undefined) return undefined;
    // As Nix's own QueryRealisedOutput and QueryRealisationReferences (local-store.cc).
    this.#realisationStatements = {
      realisation: this.#database.prepare(
        "SELECT r.id AS id, v.id AS pathId, v.path AS path, r.signatures AS signatures FROM Realisations r JOIN ValidPaths v ON v.id = r.outputPath WHERE r.drvPath = ? AND r.outputName = ?",
      ),
      dependencies:
        this.#tableExists.get("RealisationsRefs") === undefined
          ? undefined
          : this.#database.prepare(
              "SELECT r.drvPath AS drvPath, r.outputName AS outputName, v.id AS pathId, v.path AS path FROM RealisationsRefs rr JOIN Realisations r ON r.id = rr.realisationReference JOIN ValidPaths v ON v.id = r.outputPath WHERE rr.referrer = ?",
            ),
    };
    return this.#realisationStatements;
  }

  #query<T>(hash: string, run: () => T): T {
    return query(`for ${hash}`, run);
  }
}
