// What `[exposure] only_closures_of` costs on a big store: the time to compute the served set,
// the memory it holds, the time to extend it by a new generation, and a lookup. The store is a
// database with Nix's schema (ValidPaths, Refs) and a layered graph shaped like nixpkgs' (each
// path refers to a few paths of the layers below), made by this script: a million real paths
// would take hours to build. Run: node bench/exposure.ts [--paths N] [--refs R] [--keep DIR]

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { Exposure } from "../src/exposure/exposure.ts";
import { createLogger } from "../src/log.ts";

const { values } = parseArgs({
  options: {
    paths: { type: "string", default: "1000000" },
    refs: { type: "string", default: "5" },
  },
});
const PATHS = Number(values.paths);
const REFS = Number(values.refs);
const STORE = "/nix/store";
const NIX32 = "0123456789abcdfghijklmnpqrsvwxyz";

function storePath(i: number): string {
  let hash = "";
  let n = i;
  for (let k = 0; k < 32; k++) {
    hash += NIX32[n % 32] ?? "0";
    n = Math.floor(n / 32) + k * 7;
  }
  return `${STORE}/${hash}-p${i}`;
}

/** Nix's schema, the parts storefront reads; ids from 1 in registration order. */
function makeDatabase(path: string): void {
  const db = new DatabaseSync(path);
  db.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE ValidPaths (id integer primary key autoincrement not null, path text unique not null,
      hash text not null, registrationTime integer not null, deriver text, narSize integer,
      ultimate integer, sigs text, ca text);
    CREATE TABLE Refs (referrer integer not null, reference integer not null,
      primary key (referrer, reference));
    CREATE INDEX IndexReferrer ON Refs(referrer);
    CREATE INDEX IndexReference ON Refs(reference);
    CREATE TABLE DerivationOutputs (drv integer not null, id text not null, path text not null,
      primary key (drv, id));`);
  const insertPath = db.prepare(
    "INSERT INTO ValidPaths (path, hash, registrationTime, narSize) VALUES (?, ?, 0, ?)",
  );
  const insertRef = db.prepare("INSERT OR IGNORE INTO Refs VALUES (?, ?)");
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  db.exec("BEGIN");
  for (let id = 1; id <= PATHS; id++) {
    insertPath.run(
      storePath(id),
      `sha256:${"0".repeat(64)}`,
      1000 + Math.floor(random() * 100_000),
    );
    // References to earlier paths, mostly near (a package's own dependencies), some far (glibc).
    for (let r = 0; r < REFS && id > 1; r++) {
      const far = random() < 0.2;
      const target = far
        ? 1 + Math.floor(random() * Math.min(id - 1, 1000))
        : Math.max(1, id - 1 - Math.floor(random() * 2000));
      insertRef.run(id, target);
    }
  }
  db.exec("COMMIT");
  db.close();
}

function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

const dir = mkdtempSync(join(tmpdir(), "storefront-bench-exposure-"));
try {
  const dbPath = join(dir, "db.sqlite");
  let start = performance.now();
  makeDatabase(dbPath);
  console.log(
    `store: ${PATHS} paths, ${REFS} references each, made in ${((performance.now() - start) / 1000).toFixed(1)} s`,
  );

  // The root: the newest path, whose closure is most of the store (as a system's toplevel), in
  // a directory of roots, where a new generation will be linked.
  const rootsDir = join(dir, "roots");
  mkdirSync(rootsDir);
  symlinkSync(storePath(PATHS), join(rootsDir, "system"));
  global.gc?.();
  const before = process.memoryUsage();
  const exposure = new Exposure({
    entries: [rootsDir],
    includeDerivers: false,
    dbPath,
    dirs: { virtual: STORE, real: STORE },
    pinnedPaths: () => [],
    log: createLogger(() => undefined),
    onShrink: () => undefined,
  });
  start = performance.now();
  const totals = exposure.totals();
  const computeMs = performance.now() - start;
  global.gc?.();
  const after = process.memoryUsage();
  console.log(
    `full compute: ${totals.paths} paths (${megabytes(totals.bytes)} of NARs) in ${computeMs.toFixed(0)} ms; ` +
      `held: heap ${megabytes(after.heapUsed - before.heapUsed)}, array buffers ${megabytes(after.arrayBuffers - before.arrayBuffers)}; ` +
      `RSS ${megabytes(before.rss)} before, ${megabytes(after.rss)} after`,
  );

  // A lookup, as the store source makes on every request.
  const ids = Array.from({ length: 1_000_000 }, (_, i) => 1 + ((i * 7919) % PATHS));
  start = performance.now();
  let served = 0;
  for (const id of ids) if (exposure.serves(id)) served++;
  const lookupNs = ((performance.now() - start) * 1e6) / ids.length;
  console.log(`lookup: ${lookupNs.toFixed(1)} ns each (${served} of ${ids.length} served)`);

  start = performance.now();
  await exposure.refresh();
  console.log(`look with no change: ${(performance.now() - start).toFixed(1)} ms`);

  // A new generation: 100 new paths over the old ones, linked as a new root.
  const writer = new DatabaseSync(dbPath);
  const insertPath = writer.prepare(
    "INSERT INTO ValidPaths (path, hash, registrationTime, narSize) VALUES (?, ?, 0, 5000)",
  );
  const insertRef = writer.prepare("INSERT OR IGNORE INTO Refs VALUES (?, ?)");
  writer.exec("BEGIN");
  for (let id = PATHS + 1; id <= PATHS + 100; id++) {
    insertPath.run(storePath(id), `sha256:${"0".repeat(64)}`);
    insertRef.run(id, id - 1);
    insertRef.run(id, 1 + ((id * 7919) % PATHS));
  }
  writer.exec("COMMIT");
  writer.close();
  symlinkSync(storePath(PATHS + 100), join(rootsDir, "next"));
  start = performance.now();
  await exposure.refresh();
  console.log(
    `new generation (100 new paths) added: ${(performance.now() - start).toFixed(1)} ms, now ${exposure.totals().paths} paths`,
  );
  // A root removed: the set is computed again and swapped in.
  unlinkSync(join(rootsDir, "next"));
  start = performance.now();
  await exposure.refresh();
  console.log(
    `root removed, set recomputed: ${(performance.now() - start).toFixed(0)} ms, now ${exposure.totals().paths} paths`,
  );
  exposure.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
