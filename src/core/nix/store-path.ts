// Store paths and their parts. A store path is `<storeDir>/<hash>-<name>`, where the hash is
// 32 letters of nix-base32 (160 bits) and the name follows Nix's rules for path names.

import { isNixBase32 } from "./nix-base32.ts";

const STORE_HASH_LENGTH = 32;
/** A sha256 in nix-base32, as in NarHash and in the harmonia NAR URL. */
export const SHA256_NIX32_LENGTH = 52;

/** A validated 32-letter nix-base32 hash part: safe to put in a query or a path. */
export type StoreHash = string & { readonly __brand: "StoreHash" };
/** A validated 52-letter nix-base32 sha256. */
export type NarHash32 = string & { readonly __brand: "NarHash32" };

export function parseStoreHash(text: string): StoreHash | undefined {
  return isNixBase32(text, STORE_HASH_LENGTH) ? (text as StoreHash) : undefined;
}

export function parseNarHash32(text: string): NarHash32 | undefined {
  return isNixBase32(text, SHA256_NIX32_LENGTH) ? (text as NarHash32) : undefined;
}

// Nix allows letters, digits and +-._?= in names, not starting with a dot, at most 211 bytes.
const NAME_PATTERN = /^(?!\.)[A-Za-z0-9+\-._?=]{1,211}$/;

/** `<hash>-<name>` of a store path, or undefined when it is not a path in `storeDir`. */
export function storePathBaseName(storeDir: string, storePath: string): string | undefined {
  const prefix = storeDir + "/";
  if (!storePath.startsWith(prefix)) return undefined;
  const baseName = storePath.slice(prefix.length);
  return isStoreBaseName(baseName) ? baseName : undefined;
}

/** True for `<hash>-<name>` as Nix would accept it. */
export function isStoreBaseName(baseName: string): boolean {
  const hash = baseName.slice(0, STORE_HASH_LENGTH);
  return (
    baseName[STORE_HASH_LENGTH] === "-" &&
    parseStoreHash(hash) !== undefined &&
    NAME_PATTERN.test(baseName.slice(STORE_HASH_LENGTH + 1))
  );
}

/** The hash part of a `<hash>-<name>` base name (not validated). */
export function hashPartOf(baseName: string): string {
  return baseName.slice(0, STORE_HASH_LENGTH);
}
