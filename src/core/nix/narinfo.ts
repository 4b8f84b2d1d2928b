// The narinfo text, byte for byte in the order and form Nix itself writes it. Every value comes
// from Nix's database (or our keys) and is checked here before it is written: a newline in any
// of them would add lines of someone else's choosing to a signed narinfo.

import { narHashDigest, type PathInfo } from "./path-info.ts";
import { keyNameProblem } from "./signing-key.ts";
import { hashPartOf, storePathBaseName } from "./store-path.ts";

/** `<key name>:<base64 of a 64-byte Ed25519 signature>`, as Nix writes and checks them. */
const SIGNATURE = /^([^:]+):[A-Za-z0-9+/]{86}==$/;

/** Whether `text` is a well-formed signature (not whether it verifies). */
export function isSignature(text: string): boolean {
  const match = SIGNATURE.exec(text);
  return match !== null && keyNameProblem(match[1] ?? "") === undefined;
}

/**
 * A content address as Nix renders it: `text:sha256:<hash>`, `fixed:sha256:<hash>`,
 * `fixed:r:sha256:<hash>` (and `fixed:git:sha1:...` from newer Nix).
 */
const CONTENT_ADDRESS =
  /^(?:text|fixed):(?:(?:r|git):)?(?:md5|sha1|sha256|sha512):[A-Za-z0-9+/=]+$/;

export function isContentAddress(text: string): boolean {
  return CONTENT_ADDRESS.test(text);
}

/** A deriver as it may be written: a store path in `storeDir` whose name ends in `.drv`. */
export function deriverBaseName(storeDir: string, deriver: string): string | undefined {
  const baseName = storePathBaseName(storeDir, deriver);
  return baseName?.endsWith(".drv") === true ? baseName : undefined;
}

/** The NAR URL we emit: harmonia's form, which names the NAR by content and the path by hash. */
export function narUrl(info: PathInfo, storeDir: string): string {
  const baseName = storePathBaseName(storeDir, info.storePath) ?? "";
  return `nar/${narHashDigest(info.narHash)}.nar?hash=${hashPartOf(baseName)}`;
}

/** A store path's base name; throws for anything else, which StoreDatabase never returns. */
function baseNameOf(storeDir: string, storePath: string): string {
  const baseName = storePathBaseName(storeDir, storePath);
  if (baseName === undefined) throw new Error(`not a store path: ${JSON.stringify(storePath)}`);
  return baseName;
}

/**
 * Renders a narinfo for an uncompressed NAR. `signatures` are all the `Sig:` lines to send: the
 * stored ones and those made now. A malformed signature, deriver or content address is left
 * out; a path or reference that is not a store path throws (the references are signed, so the
 * narinfo cannot be written without them).
 */
export function renderNarInfo(
  info: PathInfo,
  storeDir: string,
  signatures: readonly string[],
): string {
  baseNameOf(storeDir, info.storePath);
  const references = [...info.references]
    .sort()
    .map((reference) => baseNameOf(storeDir, reference));
  const deriver = info.deriver === undefined ? undefined : deriverBaseName(storeDir, info.deriver);
  let text =
    `StorePath: ${info.storePath}\n` +
    `URL: ${narUrl(info, storeDir)}\n` +
    `Compression: none\n` +
    `NarHash: ${info.narHash}\n` +
    `NarSize: ${info.narSize}\n` +
    // Nix writes this line even when there are no references.
    `References: ${references.join(" ")}\n`;
  if (deriver !== undefined) text += `Deriver: ${deriver}\n`;
  for (const signature of signatures) if (isSignature(signature)) text += `Sig: ${signature}\n`;
  if (info.ca !== undefined && isContentAddress(info.ca)) text += `CA: ${info.ca}\n`;
  return text;
}

export function renderCacheInfo(storeDir: string, priority: number): string {
  return `StoreDir: ${storeDir}\nWantMassQuery: 1\nPriority: ${priority}\n`;
}
