// Garbage collection and roots: CollectGarbage (delete given dead paths, or list the dead ones),
// AddTempRoot (keeps a path for the connection's lifetime), AddIndirectRoot and AddPermRoot.

import type { Channel } from "../channel.ts";
import { NixDaemonError } from "../errors.ts";
import { FEATURE_DELETE_SPECIFIC_REFERRERS, Op, protocolMinor, versionText } from "../protocol.ts";
import { WireWriter } from "../wire.ts";
import { storePathArgument } from "./store-path.ts";

/** Nix's GCAction, in its wire order. */
const GC_ACTIONS = {
  "return-live": 0,
  "return-dead": 1,
  "delete-dead": 2,
  "delete-specific": 3,
} as const;

export type GcAction = keyof typeof GC_ACTIONS;

export type GcRequest =
  /** Deletes these paths; the daemon refuses (and deletes none of) a path still alive. */
  | { readonly action: "delete-specific"; readonly paths: readonly string[] }
  | {
      readonly action: "return-live" | "return-dead" | "delete-dead";
      /** Stop once this many bytes are freed (delete-dead); default: no limit. */
      readonly maxFreed?: number;
    };

export interface GcResult {
  /** The paths deleted, or for return-* the paths found live or dead. */
  readonly paths: readonly string[];
  readonly bytesFreed: number;
}

const NO_LIMIT = 0xffff_ffff_ffff_ffffn;

export async function collectGarbage(channel: Channel, request: GcRequest): Promise<GcResult> {
  const paths = request.action === "delete-specific" ? request.paths.map(storePathArgument) : [];
  const maxFreed = request.action === "delete-specific" ? undefined : request.maxFreed;
  const message = new WireWriter().u64(Op.collectGarbage).u64(GC_ACTIONS[request.action]);
  if (channel.features.has(FEATURE_DELETE_SPECIFIC_REFERRERS)) {
    // Nix 2.35: a tagged choice between given paths (and whether to delete their referrers)
    // and the whole store.
    if (request.action === "delete-specific") message.u64(0).strings(paths).u64(false);
    else message.u64(1);
  } else {
    // Before: a path set, empty for the whole store.
    message.strings(paths);
  }
  message
    .u64(false) // ignoreLiveness: the daemon refuses it anyway
    .u64(maxFreed ?? NO_LIMIT)
    .u64(0) // three obsolete fields
    .u64(0)
    .u64(0);
  await channel.write(message.toBuffer());
  await channel.processStderr();
  const result = await channel.reader.strings();
  const bytesFreed = await channel.reader.u64();
  await channel.reader.u64(); // obsolete
  return { paths: result, bytesFreed };
}

/** Keeps `storePath` from the collector while this connection is open. */
export async function addTempRoot(channel: Channel, storePath: string): Promise<void> {
  await channel.write(
    new WireWriter().u64(Op.addTempRoot).string(storePathArgument(storePath)).toBuffer(),
  );
  await channel.processStderr();
  await channel.reader.u64();
}

/** Registers `link` (a symlink to a store path, outside gcroots) as a root. */
export async function addIndirectRoot(channel: Channel, link: string): Promise<void> {
  await channel.write(new WireWriter().u64(Op.addIndirectRoot).string(link).toBuffer());
  await channel.processStderr();
  await channel.reader.u64();
}

/**
 * Makes `gcRoot` a symlink to `storePath` and a root (from 1.37, Nix 2.20; trusted users only).
 * Returns the root's path as the daemon made it.
 */
export async function addPermRoot(
  channel: Channel,
  storePath: string,
  gcRoot: string,
): Promise<string> {
  // An older daemon does not know the operation, and both it and a daemon that does not trust
  // us refuse before reading the request, which would leave its bytes to be read as requests.
  if (protocolMinor(channel.version) < 37) {
    throw new NixDaemonError(
      "unsupported",
      `the Nix daemon (protocol ${versionText(channel.version)}) has no AddPermRoot; 1.37 has`,
    );
  }
  if (channel.daemonTrustsUs === false) {
    throw new NixDaemonError(
      "unsupported",
      "the Nix daemon makes permanent roots for trusted users only (trusted-users in nix.conf)",
    );
  }
  await channel.write(
    new WireWriter()
      .u64(Op.addPermRoot)
      .string(storePathArgument(storePath))
      .string(gcRoot)
      .toBuffer(),
  );
  await channel.processStderr();
  return channel.reader.string();
}
