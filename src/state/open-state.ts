// The state database as a running storefront opens it: with its writer, or not at all. A
// process that cannot open it (state_dir not writable, say) warns once and serves all the same,
// without last uses, history or a record of pushes, as it does without its NAR cache.

import type { Clock } from "../clock.ts";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log.ts";
import { StateDatabase } from "./state-database.ts";
import { StateWriter } from "./state-writer.ts";

/**
 * How long a serving process's write waits for another's lock: node:sqlite blocks the event
 * loop meanwhile. Writes are a few small rows each, so a lock is held for milliseconds; one
 * that is not free by then is tried again a second later.
 */
export const SERVING_BUSY_TIMEOUT_MS = 250;

export interface OpenedState {
  readonly database: StateDatabase;
  readonly writer: StateWriter;
  /** Writes what is left and closes the database. */
  close(): void;
}

export function openState(config: Config, clock: Clock, log: Logger): OpenedState | undefined {
  let database: StateDatabase;
  try {
    database = new StateDatabase(config.state_dir, { busyTimeoutMs: SERVING_BUSY_TIMEOUT_MS });
  } catch (error) {
    log.warn("running without the state database (no last use, history or push record)", {
      detail: error instanceof Error ? error.message : String(error),
    });
    return undefined;
  }
  const writer = new StateWriter(database, clock, log);
  return {
    database,
    writer,
    close: () => {
      writer.close();
      database.close();
    },
  };
}
