// IsValidPath and QueryPathInfo: whether a path is registered, and what the store knows of it.

import type { PathInfo } from "../../core/nix/path-info.ts";
import type { Channel } from "../channel.ts";
import { Op } from "../protocol.ts";
import { WireWriter } from "../wire.ts";
import { storePathArgument } from "./store-path.ts";
import { narHashFromDaemon } from "./nar-hash.ts";

export async function isValidPath(channel: Channel, storePath: string): Promise<boolean> {
  await channel.write(
    new WireWriter().u64(Op.isValidPath).string(storePathArgument(storePath)).toBuffer(),
  );
  await channel.processStderr();
  return channel.reader.bool();
}

/** A path's metadata as the daemon has it: PathInfo's fields, and two that only it keeps. */
export interface DaemonPathInfo extends PathInfo {
  /** Seconds since the epoch. */
  readonly registrationTime: number;
  /** True when the path was built here, not received from elsewhere. */
  readonly ultimate: boolean;
}

/** The path's info, or undefined when it is not valid (from 1.17, which we always speak). */
export async function queryPathInfo(
  channel: Channel,
  storePath: string,
): Promise<DaemonPathInfo | undefined> {
  await channel.write(
    new WireWriter().u64(Op.queryPathInfo).string(storePathArgument(storePath)).toBuffer(),
  );
  await channel.processStderr();
  const reader = channel.reader;
  if (!(await reader.bool())) return undefined;
  const deriver = await reader.string();
  const narHash = narHashFromDaemon(await reader.string());
  const references = (await reader.strings()).sort();
  const registrationTime = await reader.u64();
  const narSize = await reader.u64();
  const ultimate = await reader.bool();
  const signatures = await reader.strings();
  const ca = await reader.string();
  return {
    storePath,
    deriver: deriver === "" ? undefined : deriver,
    narHash,
    narSize,
    references,
    registrationTime,
    ultimate,
    signatures,
    ca: ca === "" ? undefined : ca,
  };
}
