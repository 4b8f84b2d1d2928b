// File system watches that tell storefront the store or its roots changed: chokidar on the
// database's directory (Nix writes db.sqlite-wal on every transaction, db.sqlite on
// checkpoints) and on the roots directory. An event only says "look again"; what changed is
// then asked of the database or read from the directory.

import { watch, type FSWatcher } from "chokidar";
import { readdirSync, watch as watchNode, type FSWatcher as FSWatcherOfNode } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface Watch {
  /** Resolves when the watch is in place: changes after this are seen. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

function start(watcher: FSWatcher, onChange: () => void): Watch {
  watcher.on("all", () => {
    onChange();
  });
  return {
    ready: new Promise((resolve) =>
      watcher.once("ready", () => {
        resolve();
      }),
    ),
    close: () => watcher.close(),
  };
}

/** Calls `onChange` on every change of the database at `dbPath`. */
export function watchDatabase(dbPath: string, onChange: () => void): Watch {
  const name = basename(dbPath);
  return start(
    watch(dirname(dbPath), {
      ignoreInitial: true,
      depth: 0,
      // Only the database and its write-ahead log; the -shm index changes through mmap and
      // with every read, and the lock files say nothing about content.
      ignored: (path, stats) =>
        stats?.isFile() === true && path !== dbPath && basename(path) !== `${name}-wal`,
      atomic: false,
    }),
    onChange,
  );
}

/**
 * Calls `onChange` when anything under the roots directory (`<dir>/<pin>/<link>`) appears or
 * goes. Not chokidar here: it stats every entry and never reports a dangling symlink, and the
 * roots of a chroot store (links to /nix/store/... that exist only under the store's root) all
 * dangle. Nor node:fs's recursive watch, which on Linux misses changes in a directory made
 * just before. One plain inotify watch on the directory and one on each pin's directory, kept
 * in step with the directory's entries, see everything.
 */
export function watchRoots(
  dir: string,
  onChange: () => void,
  onError: (error: Error) => void,
): Watch {
  const pinWatchers = new Map<string, FSWatcherOfNode>();
  const watchPin = (name: string): void => {
    try {
      const watcher = watchNode(join(dir, name), { persistent: false }, onChange);
      watcher.on("error", () => {
        watcher.close();
        pinWatchers.delete(name);
      });
      pinWatchers.set(name, watcher);
    } catch {
      // Gone already, or not a directory: nothing to watch.
    }
  };
  const sync = (): void => {
    let names: Set<string>;
    try {
      names = new Set(
        readdirSync(dir, { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => entry.name),
      );
    } catch {
      names = new Set();
    }
    for (const [name, watcher] of pinWatchers) {
      if (names.has(name)) continue;
      watcher.close();
      pinWatchers.delete(name);
    }
    for (const name of names) if (!pinWatchers.has(name)) watchPin(name);
  };
  const top = watchNode(dir, { persistent: false }, () => {
    sync();
    onChange();
  });
  top.on("error", onError);
  sync();
  return {
    ready: Promise.resolve(),
    close: () => {
      top.close();
      for (const watcher of pinWatchers.values()) watcher.close();
      pinWatchers.clear();
      return Promise.resolve();
    },
  };
}
