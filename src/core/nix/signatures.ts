import { fingerprint } from "./fingerprint.ts";
import type { PathInfo } from "./path-info.ts";
import type { SigningKey } from "./signing-key.ts";

/**
 * The `Sig:` values of a narinfo: the signatures the store holds, then one per configured key.
 * A stored signature by one of our own key names is replaced rather than repeated.
 */
export function narInfoSignatures(info: PathInfo, keys: readonly SigningKey[]): string[] {
  if (keys.length === 0) return [...info.signatures];
  const ours = new Set(keys.map((key) => key.name));
  const stored = info.signatures.filter((sig) => !ours.has(sig.slice(0, sig.indexOf(":"))));
  const message = fingerprint(info);
  return [...stored, ...keys.map((key) => key.sign(message))];
}
