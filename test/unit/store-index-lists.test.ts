// StoreIndex's lookups of many paths at once (the budget's dead paths): a short list probes the
// index through a JSON list, a long one (20,000 or more, and half the store or more) reads the
// whole table once. Both give the same answers.

import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreIndex } from "../../src/store/db/store-index.ts";
import { NIX_PATH_TABLES } from "../support/nix-schema.ts";
import { tempDir } from "../support/temp.ts";

const PATHS = 45_000;
const pathOf = (n: number): string => `/nix/store/${String(n).padStart(32, "0")}-p${n}`;

/** Path n (id n) refers to n - 1 and n - 2, and every hundredth to itself. */
function makeStore(): string {
  const dbPath = join(tempDir(), "db.sqlite");
  const db = new DatabaseSync(dbPath);
  db.exec(NIX_PATH_TABLES);
  db.exec("BEGIN");
  const insertPath = db.prepare(
    "INSERT INTO ValidPaths (id, path, hash, registrationTime, narSize) VALUES (?, ?, 'h', ?, ?)",
  );
  const insertRef = db.prepare("INSERT INTO Refs (referrer, reference) VALUES (?, ?)");
  for (let n = 1; n <= PATHS; n++) {
    insertPath.run(n, pathOf(n), n, n * 10);
    if (n > 1) insertRef.run(n, n - 1);
    if (n > 2) insertRef.run(n, n - 2);
    if (n % 100 === 0) insertRef.run(n, n);
  }
  db.exec("COMMIT");
  db.close();
  return dbPath;
}

const sortedPairs = (pairs: { referrers: Int32Array; references: Int32Array }): string[] =>
  Array.from(pairs.referrers, (referrer, i) => `${referrer}>${pairs.references[i]}`).sort();

describe("StoreIndex, many paths at once", () => {
  let index: StoreIndex;

  beforeAll(() => {
    index = new StoreIndex(makeStore());
  });

  afterAll(() => {
    index.close();
  });

  it("finds the rows of a long list and of a short one alike", () => {
    const all = Array.from({ length: PATHS }, (_, i) => pathOf(i + 1));
    const long = index.pathRows([...all, "/nix/store/00000000000000000000000000000000-gone"]);
    expect(long).toHaveLength(PATHS);
    const short = index.pathRows(all.slice(100, 200));
    expect(short).toEqual(long.filter((row) => row.id > 100 && row.id <= 200));
    expect(short[0]).toEqual({ id: 101, path: pathOf(101), narSize: 1010, registered: 101_000 });
    // 20,000 paths, under half the store: probed, with the same rows.
    const probed = index.pathRows(all.slice(0, 20_000));
    expect(probed).toEqual(long.slice(0, 20_000));
  });

  it("gives the references among a long list and a short one alike, none to itself", () => {
    // Every path but the odd ones below 1000: references to those are left out.
    const ids = Array.from({ length: PATHS }, (_, i) => i + 1).filter((n) => n >= 1000 || n % 2);
    const expected: string[] = [];
    const among = new Set(ids);
    for (const n of ids) {
      for (const reference of [n - 1, n - 2]) {
        if (among.has(reference)) expected.push(`${n}>${reference}`);
      }
    }
    expect(sortedPairs(index.referencesAmong(ids))).toEqual(expected.sort());
    const few = ids.slice(5000, 5100);
    const fewExpected = expected.filter((pair) => {
      const [referrer, reference] = pair.split(">").map(Number);
      return few.includes(referrer ?? 0) && few.includes(reference ?? 0);
    });
    expect(sortedPairs(index.referencesAmong(few))).toEqual(fewExpected.sort());
  });
});
