// What the store knows about one valid path, in the form the narinfo and the fingerprint need.

import { encodeNixBase32, isNixBase32 } from "./nix-base32.ts";
import { SHA256_NIX32_LENGTH } from "./store-path.ts";

export interface PathInfo {
  /** Full logical store path, e.g. /nix/store/<hash>-hello-2.12. */
  readonly storePath: string;
  /** `sha256:<52 letters of nix-base32>`. */
  readonly narHash: string;
  readonly narSize: number;
  /** Full store paths, sorted. */
  readonly references: readonly string[];
  /** Full store path of the derivation, when known. */
  readonly deriver: string | undefined;
  /** Signatures as stored, `keyname:base64`. */
  readonly signatures: readonly string[];
  /** Content address (`fixed:r:sha256:...`, `text:sha256:...`), when the path has one. */
  readonly ca: string | undefined;
}

/**
 * What serving a path's files needs (a NAR, a listing, a tar): the path, and its NAR's hash and
 * size. Looked up without the references, which only the narinfo needs.
 */
export interface PathNar extends Pick<PathInfo, "storePath" | "narHash" | "narSize"> {
  /**
   * Which registration of the path this is (its row's id in Nix's database): a path deleted
   * and registered again, as when a build is repeated, gets another. A download checks it
   * before its last byte.
   */
  readonly registration: number;
}

const SHA256_BASE16 = /^[0-9a-f]{64}$/;

/**
 * Nix's database keeps `sha256:<base16>`; narinfos and fingerprints want nix-base32. Returns
 * undefined for a hash in any other form, which no Nix release writes.
 */
export function narHashToNix32(stored: string): string | undefined {
  const [algorithm, digest] = stored.split(":", 2);
  if (algorithm !== "sha256" || digest === undefined) return undefined;
  if (SHA256_BASE16.test(digest)) return "sha256:" + encodeNixBase32(Buffer.from(digest, "hex"));
  if (isNixBase32(digest, SHA256_NIX32_LENGTH)) return stored;
  return undefined;
}

/** The 52-letter digest of a `sha256:<nix32>` NarHash. */
export function narHashDigest(narHash: string): string {
  return narHash.slice("sha256:".length);
}
