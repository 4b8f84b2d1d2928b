// AddToStoreNar: a path's NAR with its metadata, which the daemon unpacks, checks (hash, size,
// signatures unless it trusts us and we ask it not to) and registers. The daemon refuses a path
// whose references are not valid yet: add references before referrers.

import type { Channel } from "../channel.ts";
import { Op } from "../protocol.ts";
import { type DataSource, sendData } from "../send-data.ts";
import { WireWriter } from "../wire.ts";
import { storePathArgument } from "./store-path.ts";
import { narHashToBase16 } from "./nar-hash.ts";

export interface NarImport {
  /** Full store path, e.g. /nix/store/<hash>-hello. */
  readonly storePath: string;
  /** Full store path of the derivation, when known. */
  readonly deriver?: string | undefined;
  /** `sha256:<nix32>` (as in narinfos), `sha256:<hex>` or `<hex>`. */
  readonly narHash: string;
  readonly narSize: number;
  /** Full store paths, each already valid (or the path itself). */
  readonly references: readonly string[];
  /** Seconds since the epoch; 0 (the default) lets the daemon use the time of registration. */
  readonly registrationTime?: number;
  /** Built here rather than received; the daemon ignores it from a user it does not trust. */
  readonly ultimate?: boolean;
  /** `keyname:base64` signatures. */
  readonly signatures?: readonly string[];
  /** Content address, e.g. `fixed:r:sha256:...`; makes signatures unnecessary. */
  readonly ca?: string | undefined;
  /** Unpack again even if the path is valid. */
  readonly repair?: boolean;
  /** Skip the signature check; the daemon honours it only for trusted users. */
  readonly dontCheckSigs?: boolean;
}

export async function addToStoreNar(
  channel: Channel,
  info: NarImport,
  nar: DataSource,
): Promise<void> {
  // Checked before anything is sent, so that a bad hash leaves the connection as it was.
  const narHash = narHashToBase16(info.narHash);
  storePathArgument(info.storePath);
  if (info.deriver !== undefined) storePathArgument(info.deriver);
  info.references.forEach(storePathArgument);
  const request = new WireWriter()
    .u64(Op.addToStoreNar)
    .string(info.storePath)
    .string(info.deriver ?? "")
    .string(narHash)
    .strings(info.references)
    .u64(info.registrationTime ?? 0)
    .u64(info.narSize)
    .u64(info.ultimate ?? false)
    .strings(info.signatures ?? [])
    .string(info.ca ?? "")
    .u64(info.repair ?? false)
    .u64(info.dontCheckSigs ?? false);
  await channel.write(request.toBuffer());
  await sendData(channel, nar);
}
