// The narinfo PUT's checks, pure: the narinfo against the URL it was PUT at, against the NAR
// staged for it, and its signatures against `[push] trusted_keys`.

import { verify, createPublicKey } from "node:crypto";
import { fingerprint } from "../core/nix/fingerprint.ts";
import { parsePublicKey } from "../core/nix/signing-key.ts";
import { hashPartOf, storePathBaseName } from "../core/nix/store-path.ts";
import { extensionOf } from "./compression.ts";
import type { PushedNarInfo } from "./narinfo-upload.ts";
import type { StagedNar } from "./staging.ts";

/** The file hash (nix-base32) the URL field names, or undefined when the URL is not one of ours. */
export function fileHashOfUrl(info: PushedNarInfo): string | undefined {
  const extension = extensionOf(info.compression);
  if (extension === undefined) return undefined;
  const match = /^nar\/([0-9a-z]{52})\.nar(\.[a-z0-9]+)?$/.exec(info.url);
  if (match === null || (match[2] ?? "") !== extension) return undefined;
  return match[1];
}

/** Why the narinfo does not belong at `urlHash`, or does not describe `staged`; or undefined. */
export function mismatch(
  info: PushedNarInfo,
  urlHash: string,
  storeDir: string,
  staged: StagedNar,
): string | undefined {
  const baseName = storePathBaseName(storeDir, info.storePath) ?? "";
  if (hashPartOf(baseName) !== urlHash) return "StorePath does not match the URL";
  if (staged.compression !== info.compression) return "Compression differs from the upload";
  if (info.fileHash !== undefined && info.fileHash !== `sha256:${staged.fileHash}`) {
    return "FileHash differs from the upload";
  }
  if (info.fileSize !== undefined && info.fileSize !== staged.fileSize) {
    return "FileSize differs from the upload";
  }
  if (info.narHash !== staged.narHash) return "NarHash differs from the uploaded NAR";
  if (info.narSize !== staged.narSize) return "NarSize differs from the uploaded NAR";
  return undefined;
}

/** Whether one of `info`'s signatures is a valid one by a key of `trustedKeys`. */
export function signedByTrustedKey(info: PushedNarInfo, trustedKeys: readonly string[]): boolean {
  const message = Buffer.from(fingerprint(info));
  for (const keyText of trustedKeys) {
    const key = parsePublicKey(keyText);
    if (!key.ok) continue;
    const publicKey = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: key.bytes.toString("base64url") },
      format: "jwk",
    });
    for (const signature of info.signatures) {
      const colon = signature.indexOf(":");
      if (signature.slice(0, colon) !== key.name) continue;
      const bytes = Buffer.from(signature.slice(colon + 1), "base64");
      if (verify(null, message, publicKey, bytes)) return true;
    }
  }
  return false;
}
