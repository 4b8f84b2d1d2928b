// The worker protocol's constants, from Nix's libstore `worker-protocol.hh` (2.8 speaks 1.34;
// 2.24 to 2.35 speak 1.38, where the two ends also exchange feature names).

export const WORKER_MAGIC_1 = 0x6e697863;
export const WORKER_MAGIC_2 = 0x6478696f;

/** The highest protocol version this client speaks, as `major << 8 | minor`. */
export const CLIENT_VERSION = (1 << 8) | 38;
/**
 * The lowest daemon version we accept: 1.21 (Nix 2.3) is the first that takes AddToStoreNar's
 * NAR as a stream it asks for (STDERR_READ); before it the NAR went inline, unframed.
 */
export const MINIMUM_DAEMON_VERSION = (1 << 8) | 21;

export function protocolMajor(version: number): number {
  return version >> 8;
}

export function protocolMinor(version: number): number {
  return version & 0xff;
}

export function versionText(version: number): string {
  return `${protocolMajor(version)}.${protocolMinor(version)}`;
}

/**
 * Feature names exchanged from 1.38 on (Nix 2.35). We claim the two that change operations we
 * make: realisations keyed by derivation path (without it a 2.35 daemon cannot take one at all)
 * and CollectGarbage's path set with a "whole store" tag.
 */
export const FEATURE_REALISATION_WITH_PATH = "realisation-with-path-not-hash";
export const FEATURE_DELETE_SPECIFIC_REFERRERS = "delete-dead-specific-referrers";
export const CLIENT_FEATURES: readonly string[] = [
  FEATURE_DELETE_SPECIFIC_REFERRERS,
  FEATURE_REALISATION_WITH_PATH,
];

/** Operation codes (`WorkerProto::Op`); only those this client sends. */
export const Op = {
  isValidPath: 1,
  addTempRoot: 11,
  addIndirectRoot: 12,
  setOptions: 19,
  collectGarbage: 20,
  queryPathInfo: 26,
  addToStoreNar: 39,
  registerDrvOutput: 42,
  queryRealisation: 43,
  addBuildLog: 45,
  addPermRoot: 47,
} as const;

/** What the daemon sends while it works, before an operation's answer. */
export const Stderr = {
  next: 0x6f6c6d67,
  read: 0x64617461,
  write: 0x64617416,
  last: 0x616c7473,
  error: 0x63787470,
  startActivity: 0x53545254,
  stopActivity: 0x53544f50,
  result: 0x52534c54,
} as const;

/** Nix's Verbosity levels (lvlError = 0 ... lvlVomit = 7). */
export const Verbosity = { error: 0, warn: 1, notice: 2, info: 3, vomit: 7 } as const;
