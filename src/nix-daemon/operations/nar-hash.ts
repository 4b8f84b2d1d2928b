// NAR hashes as the daemon takes and gives them (base16, no prefix) and as storefront keeps
// them (`sha256:<nix-base32>`, as in narinfos).

import { decodeNixBase32 } from "../../core/nix/nix-base32.ts";
import { narHashToNix32 } from "../../core/nix/path-info.ts";
import { NixDaemonError } from "../errors.ts";

const BASE16 = /^[0-9a-f]{64}$/;

/**
 * The 64 hex digits of a sha256 NAR hash given as `sha256:<nix32>`, `sha256:<hex>` or `<hex>`;
 * throws TypeError for anything else, before a byte is sent.
 */
export function narHashToBase16(narHash: string): string {
  const digest = narHash.startsWith("sha256:") ? narHash.slice("sha256:".length) : narHash;
  if (BASE16.test(digest)) return digest;
  const bytes = decodeNixBase32(digest, 32);
  if (bytes === undefined) {
    throw new TypeError(`not a sha256 NAR hash: ${JSON.stringify(narHash)}`);
  }
  return Buffer.from(bytes).toString("hex");
}

/** The daemon's base16 digest as `sha256:<nix32>`. */
export function narHashFromDaemon(text: string): string {
  const nix32 = narHashToNix32(text.includes(":") ? text : `sha256:${text}`);
  if (nix32 === undefined) {
    throw new NixDaemonError("protocol", `the Nix daemon sent a NAR hash it should not: ${text}`);
  }
  return nix32;
}
