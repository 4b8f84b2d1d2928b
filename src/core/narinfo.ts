// The narinfo text, byte for byte in the order and form Nix itself writes it.

import { narHashDigest, type PathInfo } from "./path-info.ts";
import { hashPartOf, storePathBaseName } from "./store-path.ts";

/** The NAR URL we emit: harmonia's form, which names the NAR by content and the path by hash. */
export function narUrl(info: PathInfo, storeDir: string): string {
  const baseName = storePathBaseName(storeDir, info.storePath) ?? "";
  return `nar/${narHashDigest(info.narHash)}.nar?hash=${hashPartOf(baseName)}`;
}

function baseNameOf(storeDir: string, storePath: string): string {
  return storePathBaseName(storeDir, storePath) ?? storePath.slice(storeDir.length + 1);
}

/**
 * Renders a narinfo for an uncompressed NAR. `signatures` are all the `Sig:` lines to send: the
 * stored ones and those made now.
 */
export function renderNarInfo(
  info: PathInfo,
  storeDir: string,
  signatures: readonly string[],
): string {
  const references = [...info.references]
    .sort()
    .map((reference) => baseNameOf(storeDir, reference));
  let text =
    `StorePath: ${info.storePath}\n` +
    `URL: ${narUrl(info, storeDir)}\n` +
    `Compression: none\n` +
    `NarHash: ${info.narHash}\n` +
    `NarSize: ${info.narSize}\n` +
    // Nix writes this line even when there are no references.
    `References: ${references.join(" ")}\n`;
  if (info.deriver !== undefined) text += `Deriver: ${baseNameOf(storeDir, info.deriver)}\n`;
  for (const signature of signatures) text += `Sig: ${signature}\n`;
  if (info.ca !== undefined) text += `CA: ${info.ca}\n`;
  return text;
}

export function renderCacheInfo(storeDir: string, priority: number): string {
  return `StoreDir: ${storeDir}\nWantMassQuery: 1\nPriority: ${priority}\n`;
}
