// storefront's own SQLite database, `<state_dir>/state.sqlite`: when each store path was last
// used, samples of the store over time, pushes and runs of the budget's collector.
//
// Several processes share the file: each cluster worker records last uses and pushes, the
// process that keeps the budget samples and collects, and `storefront gc` may run beside them.
// So it is in WAL mode (readers never wait for a writer), every write is one short transaction,
// and a write that meets another's lock waits `busyTimeoutMs` and then fails with SQLITE_BUSY:
// node:sqlite is synchronous, and a serving process must not stall its requests for long. The
// writer (state-writer.ts) keeps what it could not write for its next try.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { StorefrontError } from "../errors.ts";
import { KEEP_DAILY_MS, samplesToDrop } from "./history-thinning.ts";
import type { GcRunRecord, HistorySample, PushRecordEntry, StateReader } from "./records.ts";

/** The schema this code writes, in `PRAGMA user_version`; a newer one is refused. */
export const SCHEMA_VERSION = 1;

const SCHEMA = `
  -- Keyed by the path's 32-character hash: a path deleted and built again has the same key,
  -- and the budget takes the later of this and its registration.
  CREATE TABLE IF NOT EXISTS last_use (
    hash TEXT PRIMARY KEY,
    time INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS history (
    time INTEGER PRIMARY KEY,
    paths INTEGER NOT NULL,
    nar_bytes INTEGER NOT NULL,
    free_bytes INTEGER NOT NULL,
    pinned_bytes INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS pushes (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    token TEXT NOT NULL,
    path TEXT NOT NULL,
    nar_size INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS pushes_time ON pushes (time);
  CREATE TABLE IF NOT EXISTS gc_runs (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    paths INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    unmet INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS gc_runs_time ON gc_runs (time);
`;

/** How long opening waits for another process that creates the schema or sets WAL mode. */
const OPEN_TIMEOUT_MS = 10_000;

/** SQLite's primary result code for a lock held by another connection. */
const SQLITE_BUSY = 5;

/** Whether `error` is SQLite saying another process holds the lock (SQLITE_BUSY). */
export function isBusyError(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === "number" && (errcode & 0xff) === SQLITE_BUSY;
}

export interface StateDatabaseOptions {
  /** How long a write waits for another process's lock before SQLITE_BUSY. */
  readonly busyTimeoutMs: number;
}

export class StateDatabase implements StateReader {
  readonly file: string;
  readonly #database: DatabaseSync;
  readonly #recordUse: StatementSync;
  readonly #lastUse: StatementSync;
  readonly #forgetUse: StatementSync;
  readonly #addPush: StatementSync;
  readonly #addRun: StatementSync;
  readonly #addSample: StatementSync;
  readonly #history: StatementSync;
  readonly #historyTimesBefore: StatementSync;
  readonly #dropSample: StatementSync;
  readonly #recentPushes: StatementSync;
  readonly #recentRuns: StatementSync;
  readonly #dropOldPushes: StatementSync;
  readonly #dropOldRuns: StatementSync;

  /**
   * Opens (and creates) `<stateDir>/state.sqlite`; throws a StorefrontError naming the file
   * when it cannot, or when a newer storefront made it.
   */
  constructor(stateDir: string, options: StateDatabaseOptions) {
    this.file = join(stateDir, "state.sqlite");
    let database: DatabaseSync | undefined;
    try {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      // Workers open it together at start: they wait their turn for the schema as long as needed.
      database = new DatabaseSync(this.file, { timeout: OPEN_TIMEOUT_MS });
      migrate(database, this.file);
      database.exec(`PRAGMA busy_timeout = ${Math.round(options.busyTimeoutMs)}`);
    } catch (error) {
      database?.close();
      if (error instanceof StorefrontError) throw error;
      throw new StorefrontError(
        "internal",
        `cannot open the state database ${this.file}: ${String(error)}; storefront's user needs to be able to write to ${stateDir} (state_dir)`,
        { cause: error },
      );
    }
    this.#database = database;
    const prepare = (sql: string): StatementSync => database.prepare(sql);
    // Two processes may record the same path: the later time wins.
    this.#recordUse = prepare(
      "INSERT INTO last_use (hash, time) VALUES (?, ?) ON CONFLICT (hash) DO UPDATE SET time = max(time, excluded.time)",
    );
    this.#lastUse = prepare(
      "SELECT hash, time FROM last_use WHERE hash IN (SELECT value FROM json_each(?))",
    );
    this.#forgetUse = prepare("DELETE FROM last_use WHERE hash = ?");
    this.#addPush = prepare("INSERT INTO pushes (time, token, path, nar_size) VALUES (?, ?, ?, ?)");
    this.#addRun = prepare("INSERT INTO gc_runs (time, paths, bytes, unmet) VALUES (?, ?, ?, ?)");
    this.#addSample = prepare(
      "INSERT OR REPLACE INTO history (time, paths, nar_bytes, free_bytes, pinned_bytes) VALUES (?, ?, ?, ?, ?)",
    );
    this.#history = prepare(
      "SELECT time, paths, nar_bytes AS narBytes, free_bytes AS freeBytes, pinned_bytes AS pinnedBytes FROM history WHERE time >= ? ORDER BY time",
    );
    this.#historyTimesBefore = prepare("SELECT time FROM history WHERE time < ?");
    this.#dropSample = prepare("DELETE FROM history WHERE time = ?");
    this.#recentPushes = prepare(
      "SELECT time, token, path, nar_size AS narSize FROM pushes ORDER BY time DESC, id DESC LIMIT ?",
    );
    this.#recentRuns = prepare(
      "SELECT time, paths, bytes, unmet FROM gc_runs ORDER BY time DESC, id DESC LIMIT ?",
    );
    this.#dropOldPushes = prepare("DELETE FROM pushes WHERE time < ?");
    this.#dropOldRuns = prepare("DELETE FROM gc_runs WHERE time < ?");
  }

  /** Records last uses (hash → time, ms) and pushes in one transaction. */
  write(uses: ReadonlyMap<string, number>, pushes: readonly PushRecordEntry[]): void {
    this.#transaction(() => {
      for (const [hash, time] of uses) this.#recordUse.run(hash, time);
      for (const push of pushes) {
        this.#addPush.run(push.time, push.token, push.path, push.narSize);
      }
    });
  }

  /** The last use recorded of each of `hashes` that has one. */
  lastUses(hashes: readonly string[]): Map<string, number> {
    const rows = this.#lastUse.all(JSON.stringify(hashes)) as { hash: string; time: number }[];
    return new Map(rows.map((row) => [row.hash, row.time]));
  }

  /** Forgets the last use of paths that were deleted. */
  forgetUses(hashes: readonly string[]): void {
    this.#transaction(() => {
      for (const hash of hashes) this.#forgetUse.run(hash);
    });
  }

  addGcRun(run: GcRunRecord): void {
    this.#transaction(() => {
      this.#addRun.run(run.time, run.paths, run.bytes, run.unmet ? 1 : 0);
    });
  }

  /** Adds a sample, thins the history (history-thinning.ts), drops records older than a year. */
  addSample(sample: HistorySample): void {
    const now = sample.time;
    this.#transaction(() => {
      this.#addSample.run(
        sample.time,
        sample.paths,
        sample.narBytes,
        sample.freeBytes,
        sample.pinnedBytes,
      );
      const older = this.#historyTimesBefore.all(now) as { time: number }[];
      for (const time of samplesToDrop(
        older.map((row) => row.time),
        now,
      )) {
        this.#dropSample.run(time);
      }
      this.#dropOldPushes.run(now - KEEP_DAILY_MS);
      this.#dropOldRuns.run(now - KEEP_DAILY_MS);
    });
  }

  history(since: number): HistorySample[] {
    return (this.#history.all(since) as unknown as HistorySample[]).map((row) => ({ ...row }));
  }

  recentPushes(limit: number): PushRecordEntry[] {
    return (this.#recentPushes.all(limit) as unknown as PushRecordEntry[]).map((row) => ({
      ...row,
    }));
  }

  recentGcRuns(limit: number): GcRunRecord[] {
    const rows = this.#recentRuns.all(limit) as {
      time: number;
      paths: number;
      bytes: number;
      unmet: number;
    }[];
    return rows.map((row) => ({ ...row, unmet: row.unmet !== 0 }));
  }

  close(): void {
    this.#database.close();
  }

  /** Runs `work` in one write transaction, taken at once (BEGIN IMMEDIATE: no upgrade deadlock). */
  #transaction(work: () => void): void {
    this.#database.exec("BEGIN IMMEDIATE");
    try {
      work();
      this.#database.exec("COMMIT");
    } catch (error) {
      if (this.#database.isTransaction) this.#database.exec("ROLLBACK");
      throw error;
    }
  }
}

/** Sets WAL mode and creates the tables, or checks that the schema is one this code knows. */
function migrate(database: DatabaseSync, file: string): void {
  database.exec("PRAGMA journal_mode = WAL");
  // WAL with NORMAL sync: a power cut may lose the last writes, never the file's consistency;
  // last uses and samples are worth no fsync per second.
  database.exec("PRAGMA synchronous = NORMAL");
  const version = (database.prepare("PRAGMA user_version").get() as { user_version: number })
    .user_version;
  if (version > SCHEMA_VERSION) {
    throw new StorefrontError(
      "internal",
      `the state database ${file} has schema version ${version}, made by a newer storefront; this one knows ${SCHEMA_VERSION}: run the newer storefront, or move the file away to start afresh`,
    );
  }
  if (version === SCHEMA_VERSION) return;
  database.exec("BEGIN IMMEDIATE");
  try {
    database.exec(SCHEMA);
    database.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    database.exec("COMMIT");
  } catch (error) {
    database.exec("ROLLBACK");
    throw error;
  }
}
