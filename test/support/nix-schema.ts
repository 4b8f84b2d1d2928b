// The two tables of Nix's database (db.sqlite) that storefront's store index reads, for unit
// tests that make a small database of their own rather than run a real Nix.

export const NIX_PATH_TABLES = `
  CREATE TABLE ValidPaths (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, path TEXT UNIQUE NOT NULL,
    hash TEXT NOT NULL, registrationTime INTEGER NOT NULL, deriver TEXT, narSize INTEGER,
    ultimate INTEGER, sigs TEXT, ca TEXT);
  CREATE TABLE Refs (referrer INTEGER NOT NULL, reference INTEGER NOT NULL,
    PRIMARY KEY (referrer, reference));`;
