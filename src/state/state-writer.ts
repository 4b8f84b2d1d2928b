// Last uses and pushes, written off the request path: a request only sets an entry in a Map
// (the path's hash → now), and a timer writes what gathered at most once a second, in one
// transaction, so a use is on disk within two seconds of its request. A write that fails (the
// lock held by another process past the busy timeout, a full disk) keeps its entries for the
// next try, merged with what came since; a failure is logged once until a write succeeds again.

import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { PushRecordEntry } from "./records.ts";
import type { StateDatabase } from "./state-database.ts";

/** How often gathered uses and pushes are written. */
export const FLUSH_INTERVAL_MS = 1000;

/** Beyond this many pushes waiting (a database failing for long), the oldest are dropped. */
const MAX_PENDING_PUSHES = 10_000;

export class StateWriter {
  readonly #database: StateDatabase;
  readonly #clock: Clock;
  readonly #log: Logger;
  #uses = new Map<string, number>();
  #pushes: PushRecordEntry[] = [];
  #timer: NodeJS.Timeout | undefined;
  #failing = false;

  constructor(database: StateDatabase, clock: Clock, log: Logger) {
    this.#database = database;
    this.#clock = clock;
    this.#log = log;
  }

  /** The store path with hash part `hash` was used now (a download started, a push landed). */
  used(hash: string): void {
    this.#uses.set(hash, this.#clock());
    this.#schedule();
  }

  /** A path landed by a push; it counts as used. */
  pushed(entry: Omit<PushRecordEntry, "time">, hash: string): void {
    const time = this.#clock();
    this.#pushes.push({ ...entry, time });
    if (this.#pushes.length > MAX_PENDING_PUSHES) this.#pushes.shift();
    this.#uses.set(hash, time);
    this.#schedule();
  }

  /** Writes what gathered now; true when nothing is left waiting. */
  flush(): boolean {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#uses.size === 0 && this.#pushes.length === 0) return true;
    const uses = this.#uses;
    const pushes = this.#pushes;
    this.#uses = new Map();
    this.#pushes = [];
    try {
      this.#database.write(uses, pushes);
      if (this.#failing) this.#log.info("state database written again", {});
      this.#failing = false;
      return true;
    } catch (error) {
      // Put back under what came since (a later use of the same path wins).
      for (const [hash, time] of this.#uses) uses.set(hash, Math.max(time, uses.get(hash) ?? 0));
      this.#uses = uses;
      this.#pushes = [...pushes, ...this.#pushes];
      if (!this.#failing) {
        this.#log.warn("cannot write the state database; retrying every second", {
          file: this.#database.file,
          detail: String(error),
        });
      }
      this.#failing = true;
      this.#schedule();
      return false;
    }
  }

  /** Writes what is left (one last try) and stops the timer. */
  close(): void {
    this.flush();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, FLUSH_INTERVAL_MS);
    // A pending write never keeps the process alive; shutdown flushes (close).
    this.#timer.unref();
  }
}
