// A store database with Nix's schema (schema version 10, with the tables of CA derivations) and
// rows as Nix writes them, for benchmarks of whole-store work at sizes no real build reaches in
// minutes. The files need not exist: narinfos, counts and closures read only the database.
//
// The store is packages, each a derivation registered before its output, as `nix-build` does:
//   - the `.drv` (content-addressed text, `ca = text:sha256:...`) refers to its dependencies'
//     `.drv`s; its output has it as `deriver`, and DerivationOutputs names the output;
//   - the output refers to the previous package's output (so that the newest output's closure,
//     with derivers, is the whole store) and to a few more earlier ones, mostly near (a
//     package's own dependencies), a fifth far (glibc, bash); a third refer to themselves;
//   - half the outputs were built here (`ultimate`), half substituted (a signature);
//   - one package in a hundred is a CA derivation, with its realisation.

import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";

export const STORE_DIR = "/nix/store";
const NIX32 = "0123456789abcdfghijklmnpqrsvwxyz";

/** Nix's own schema (local-store's schema.sql and ca-specific-schema.sql), as `nix-store --init` makes it. */
const SCHEMA = `
  CREATE TABLE ValidPaths (
    id integer primary key autoincrement not null, path text unique not null,
    hash text not null, registrationTime integer not null, deriver text, narSize integer,
    ultimate integer, sigs text, ca text);
  CREATE TABLE Refs (referrer integer not null, reference integer not null,
    primary key (referrer, reference),
    foreign key (referrer) references ValidPaths(id) on delete cascade,
    foreign key (reference) references ValidPaths(id) on delete restrict);
  CREATE INDEX IndexReferrer on Refs(referrer);
  CREATE INDEX IndexReference on Refs(reference);
  CREATE TRIGGER DeleteSelfRefs before delete on ValidPaths
    begin delete from Refs where referrer = old.id and reference = old.id; end;
  CREATE TABLE DerivationOutputs (drv integer not null, id text not null, path text not null,
    primary key (drv, id), foreign key (drv) references ValidPaths(id) on delete cascade);
  CREATE INDEX IndexDerivationOutputs on DerivationOutputs(path);
  CREATE TABLE Realisations (id integer primary key autoincrement not null,
    drvPath text not null, outputName text not null, outputPath integer not null,
    signatures text, foreign key (outputPath) references ValidPaths(id) on delete cascade);
  CREATE INDEX IndexRealisations on Realisations(drvPath, outputName);
  CREATE TABLE RealisationsRefs (referrer integer not null, realisationReference integer,
    foreign key (referrer) references Realisations(id) on delete cascade,
    foreign key (realisationReference) references Realisations(id) on delete restrict);
  CREATE INDEX IndexRealisationsRefs on RealisationsRefs(referrer);
  CREATE INDEX IndexRealisationsRefsRealisationReference on RealisationsRefs(realisationReference);
  CREATE INDEX IndexRealisationsRefsOnOutputPath on Realisations(outputPath);`;

export interface SyntheticStore {
  readonly paths: number;
  readonly references: number;
  /** The newest output: with its derivers, its closure is every path. */
  readonly root: string;
  /** The hash part of every output, in registration order (the narinfos to ask for). */
  readonly outputHashes: readonly string[];
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** A store path hash part (32 characters of Nix's base 32) derived from `seed`. */
function hashPart(seed: string): string {
  const bytes = digest(seed);
  let part = "";
  for (let i = 0; i < 32; i++) part += NIX32[(bytes[i] ?? 0) % 32] ?? "0";
  return part;
}

/** A signature as cache.nixos.org writes them: 64 bytes of ed25519, base64. */
function signature(seed: string): string {
  return `cache.nixos.org-1:${Buffer.concat([digest(seed), digest(`${seed}!`)]).toString("base64")}`;
}

/** Makes the database at `file` (replacing one there) with `paths` valid paths (even). */
export function makeSyntheticStore(file: string, paths: number, refsPerPath = 5): SyntheticStore {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
  const db = new DatabaseSync(file);
  // Nix's own settings; synchronous off only while the benchmark fills it.
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;");
  db.exec(SCHEMA);
  const insertPath = db.prepare(
    "INSERT INTO ValidPaths (path, hash, registrationTime, deriver, narSize, ultimate, sigs, ca) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const insertRef = db.prepare("INSERT OR IGNORE INTO Refs (referrer, reference) VALUES (?, ?)");
  const insertOutput = db.prepare(
    "INSERT INTO DerivationOutputs (drv, id, path) VALUES (?, 'out', ?)",
  );
  const insertRealisation = db.prepare(
    "INSERT INTO Realisations (drvPath, outputName, outputPath, signatures) VALUES (?, 'out', ?, ?)",
  );
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const packages = Math.floor(paths / 2);
  const outputHashes: string[] = [];
  let references = 0;
  let root = "";
  const startTime = 1_700_000_000;
  db.exec("BEGIN");
  for (let k = 0; k < packages; k++) {
    const name = `pkg-${k}`;
    const drvPath = `${STORE_DIR}/${hashPart(`drv ${k}`)}-${name}.drv`;
    const outHash = hashPart(`out ${k}`);
    const outPath = `${STORE_DIR}/${outHash}-${name}`;
    const drvId = 2 * k + 1;
    const outId = 2 * k + 2;
    // The dependencies, as package numbers: the previous one, and a few earlier ones.
    const deps = new Set<number>();
    if (k > 0) deps.add(k - 1);
    for (let r = 1; r < refsPerPath && k > 1; r++) {
      deps.add(
        random() < 0.2
          ? Math.floor(random() * Math.min(k, 1000))
          : Math.max(0, k - 1 - Math.floor(random() * 2000)),
      );
    }
    const drvHash = digest(drvPath);
    insertPath.run(
      drvPath,
      `sha256:${digest(`drv nar ${k}`).toString("hex")}`,
      startTime + k,
      null,
      1000 + Math.floor(random() * 4000),
      1,
      null,
      `text:sha256:${hashPart(`drv ca ${k}`)}${hashPart(`drv ca2 ${k}`).slice(0, 20)}`,
    );
    const built = random() < 0.5;
    // NAR sizes spread as a store's are: most small, a few large.
    const narSize = Math.floor(1000 * Math.exp(random() * 11));
    insertPath.run(
      outPath,
      `sha256:${digest(`out nar ${k}`).toString("hex")}`,
      startTime + k,
      drvPath,
      narSize,
      built ? 1 : null,
      built ? null : signature(outPath),
      null,
    );
    insertOutput.run(drvId, outPath);
    for (const dep of deps) {
      insertRef.run(drvId, 2 * dep + 1);
      insertRef.run(outId, 2 * dep + 2);
      references += 2;
    }
    if (random() < 1 / 3) {
      insertRef.run(outId, outId);
      references++;
    }
    if (k % 100 === 99) {
      insertRealisation.run(`sha256:${drvHash.toString("hex")}`, outId, signature(`r ${k}`));
    }
    outputHashes.push(outHash);
    root = outPath;
  }
  db.exec("COMMIT");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  return { paths: packages * 2, references, root, outputHashes };
}
