// File system watches that tell storefront the store or its roots changed: chokidar on the
// database's directory (Nix writes db.sqlite-wal on every transaction, db.sqlite on
// checkpoints) and on the roots directory. An event only says "look again"; what changed is
// then asked of the database or read from the directory.

import { watch, type FSWatcher } from "chokidar";
import { basename, dirname } from "node:path";

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

/** Calls `onChange` when anything under the roots directory appears or goes. */
export function watchRoots(dir: string, onChange: () => void): Watch {
  return start(
    watch(dir, { ignoreInitial: true, depth: 2, followSymlinks: false, atomic: false }),
    onChange,
  );
}
