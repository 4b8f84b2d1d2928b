// A pushed narinfo, parsed strictly: every line `Key: value\n`, only the keys Nix writes, each
// once (but `Sig`), the required ones present, every value in the form Nix writes it. Pure: no
// I/O, so that every refusal is tested with plain text.

import { isContentAddress, isSignature } from "../core/nix/narinfo.ts";
import { SHA256_NIX32_LENGTH, isStoreBaseName, storePathBaseName } from "../core/nix/store-path.ts";
import { isNixBase32 } from "../core/nix/nix-base32.ts";

export interface PushedNarInfo {
  /** Full store path. */
  readonly storePath: string;
  /** The URL field, relative to the cache: `nar/<filehash>.nar[.<ext>]`. */
  readonly url: string;
  readonly compression: string;
  /** `sha256:<nix32>`, when given. */
  readonly fileHash: string | undefined;
  readonly fileSize: number | undefined;
  /** `sha256:<nix32>`. */
  readonly narHash: string;
  readonly narSize: number;
  /** Full store paths, sorted. */
  readonly references: readonly string[];
  /** Full store path of the derivation, when given. */
  readonly deriver: string | undefined;
  readonly signatures: readonly string[];
  readonly ca: string | undefined;
}

const KEYS = new Set([
  "StorePath",
  "URL",
  "Compression",
  "FileHash",
  "FileSize",
  "NarHash",
  "NarSize",
  "References",
  "Deriver",
  "Sig",
  "CA",
]);

/** A narinfo body larger than this is no narinfo (a path with thousands of references is ~200 KiB). */
export const MAX_NARINFO_SIZE = 1024 * 1024;

/** `sha256:<52 letters of nix-base32>`, the only hash form Nix writes in a narinfo. */
export function isSha256Nix32(text: string): boolean {
  return (
    text.startsWith("sha256:") && isNixBase32(text.slice("sha256:".length), SHA256_NIX32_LENGTH)
  );
}

function parseSize(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The narinfo, or the reason it is refused (for the log: it never reaches the client). */
export function parsePushedNarInfo(
  text: string,
  storeDir: string,
): { ok: true; info: PushedNarInfo } | { ok: false; reason: string } {
  const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });
  if (!text.endsWith("\n")) return fail("the last line does not end in a newline");
  const fields = new Map<string, string>();
  const signatures: string[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    const colon = line.indexOf(": ");
    if (colon <= 0) return fail(`a line is not "Key: value"`);
    const key = line.slice(0, colon);
    const value = line.slice(colon + 2);
    if (!KEYS.has(key)) return fail(`unknown key ${JSON.stringify(key.slice(0, 40))}`);
    if (key === "Sig") {
      if (!isSignature(value)) return fail("a malformed Sig");
      signatures.push(value);
      continue;
    }
    if (fields.has(key)) return fail(`${key} given twice`);
    fields.set(key, value);
  }
  const storePath = fields.get("StorePath");
  const url = fields.get("URL");
  const narHash = fields.get("NarHash");
  const narSizeText = fields.get("NarSize");
  if (storePath === undefined || url === undefined || narHash === undefined) {
    return fail("StorePath, URL or NarHash missing");
  }
  if (storePathBaseName(storeDir, storePath) === undefined) return fail("StorePath malformed");
  if (!isSha256Nix32(narHash)) return fail("NarHash malformed");
  const narSize = parseSize(narSizeText ?? "");
  if (narSize === undefined) return fail("NarSize missing or malformed");
  const fileHash = fields.get("FileHash");
  if (fileHash !== undefined && !isSha256Nix32(fileHash)) return fail("FileHash malformed");
  const fileSizeText = fields.get("FileSize");
  const fileSize = fileSizeText === undefined ? undefined : parseSize(fileSizeText);
  if (fileSizeText !== undefined && fileSize === undefined) return fail("FileSize malformed");
  const referencesText = fields.get("References") ?? "";
  const referenceNames = referencesText === "" ? [] : referencesText.split(" ");
  if (!referenceNames.every(isStoreBaseName)) return fail("a reference is malformed");
  if (new Set(referenceNames).size !== referenceNames.length) return fail("a reference repeats");
  const deriverName = fields.get("Deriver");
  if (
    deriverName !== undefined &&
    !(isStoreBaseName(deriverName) && deriverName.endsWith(".drv"))
  ) {
    return fail("Deriver malformed");
  }
  const ca = fields.get("CA");
  if (ca !== undefined && !isContentAddress(ca)) return fail("CA malformed");
  return {
    ok: true,
    info: {
      storePath,
      url,
      // A narinfo without Compression means bzip2 (Nix's default of old).
      compression: fields.get("Compression") ?? "bzip2",
      fileHash,
      fileSize,
      narHash,
      narSize,
      references: referenceNames.map((name) => `${storeDir}/${name}`).sort(),
      deriver: deriverName === undefined ? undefined : `${storeDir}/${deriverName}`,
      signatures,
      ca,
    },
  };
}
