// Keeps the served set current: the pins' directory, the directories of the configured roots
// and profiles, and the database are watched, and any change makes the set looked at again
// soon after (a profile switch, a pin, a push, a root removed, a path registered).
// Plain inotify watches, as for the pins in store/watch.ts: the roots of a chroot store dangle,
// and chokidar reports no dangling symlink.

import { watch as watchNode, type FSWatcher } from "node:fs";
import type { Logger } from "../log.ts";
import { watchDatabase, watchRoots, type Watch } from "../store/roots/watch.ts";
import type { Exposure } from "./exposure.ts";

/** After the first event of a burst, so that a burst costs few looks. */
const DELAY_MS = 100;
/** And once more after the last event, by when every write of the burst has landed. */
const SETTLE_MS = 250;

export interface ExposureWatchOptions {
  readonly dbPath: string;
  /** The pins' directory, when the `pins` entry is configured. */
  readonly pinsDir: string | undefined;
  readonly log: Logger;
}

export function watchExposure(exposure: Exposure, options: ExposureWatchOptions): Watch {
  const { log } = options;
  const dirWatchers = new Map<string, FSWatcher>();
  let first: NodeJS.Timeout | undefined;
  let last: NodeJS.Timeout | undefined;

  // One look at a time; a change during a look makes one more after it.
  let running: Promise<void> | undefined;
  const state = { again: false, closed: false };
  // A function: read inline, the flag would be taken as still false after the await.
  const lookAgain = (): boolean => state.again && !state.closed;
  const look = (): Promise<void> => {
    if (state.closed) return Promise.resolve();
    if (running !== undefined) {
      state.again = true;
      return running;
    }
    running = (async () => {
      do {
        state.again = false;
        try {
          await exposure.refresh();
        } catch (error) {
          log.error("served set update failed", {
            detail: error instanceof Error ? error.message : String(error),
          });
        }
        syncDirs();
      } while (lookAgain());
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const changed = (): void => {
    first ??= setTimeout(() => {
      first = undefined;
      void look();
    }, DELAY_MS);
    clearTimeout(last);
    last = setTimeout(() => void look(), SETTLE_MS);
  };
  // The directories to watch change with the roots (a directory of roots grows a subdirectory).
  const syncDirs = (): void => {
    const wanted = exposure.watchedDirs;
    for (const [dir, watcher] of dirWatchers) {
      if (wanted.has(dir)) continue;
      watcher.close();
      dirWatchers.delete(dir);
    }
    for (const dir of wanted) {
      if (dirWatchers.has(dir)) continue;
      try {
        const watcher = watchNode(dir, { persistent: false }, changed);
        watcher.on("error", () => {
          watcher.close();
          dirWatchers.delete(dir);
          changed();
        });
        dirWatchers.set(dir, watcher);
      } catch {
        // Not there (now): the directory above it is watched and says when it comes.
      }
    }
  };

  // The first look computes the set: serving waits for it (`ready`).
  const firstLook = look();
  const watches: Watch[] = [watchDatabase(options.dbPath, changed)];
  if (options.pinsDir !== undefined) {
    try {
      watches.push(
        watchRoots(options.pinsDir, changed, (error) => {
          log.warn("watching the pins for exposure stopped", { detail: error.message });
        }),
      );
    } catch (error) {
      log.warn("cannot watch the pins for exposure", {
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return {
    ready: Promise.all([firstLook, ...watches.map((w) => w.ready)]).then(() => undefined),
    close: async () => {
      state.closed = true;
      clearTimeout(first);
      clearTimeout(last);
      await running;
      for (const watcher of dirWatchers.values()) watcher.close();
      dirWatchers.clear();
      await Promise.all(watches.map((w) => w.close()));
    },
  };
}
