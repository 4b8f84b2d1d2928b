// What routes are given, rather than importing global state. A reload (SIGHUP) replaces
// `config`, `keys` and `adminTokens` in place (see app.ts): read them per request, never keep them.

import type { Config } from "../config.ts";
import type { PathInfo, PathNar } from "../core/path-info.ts";
import type { DrvOutput, Realisation } from "../core/realisation.ts";
import type { SigningKey } from "../core/signing-key.ts";
import type { StoreHash } from "../core/store-path.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { NarInfoCache } from "../store/narinfo-cache.ts";
import type { PinService } from "../store/pins.ts";
import type { CompressedNarCache } from "../store/compressed-nar-cache.ts";
import type { NarLayoutCache } from "../store/nar-layout-cache.ts";
import type { StreamSlots } from "./stream-slots.ts";
import type { Uploads } from "../uploads/index.ts";

export interface PathInfoSource {
  pathInfo(hash: StoreHash): PathInfo | undefined;
  /** The same path's NAR hash and size only, for the routes that serve its files. */
  pathNar(hash: StoreHash): PathNar | undefined;
}

export interface RealisationSource {
  realisation(id: DrvOutput): Realisation | undefined;
}

export interface Services {
  readonly config: Config;
  readonly store: PathInfoSource & RealisationSource;
  readonly keys: readonly SigningKey[];
  readonly log: Logger;
  readonly version: string;
  readonly metrics: Metrics;
  /** Signed narinfo texts; cleared whenever the store's database changes. */
  readonly narInfoCache: NarInfoCache;
  readonly pins: PinService;
  /** SHA-256 digests of the admin API's bearer tokens; none: the API is off. */
  readonly adminTokens: readonly Buffer[];
  /** zstd-compressed NARs for repeat downloads; undefined when disabled or unusable. */
  readonly narCache: CompressedNarCache | undefined;
  /** NAR layouts, so that a repeat download needs no walk; as `narCache`, in its directory. */
  readonly narLayouts: NarLayoutCache | undefined;
  /** The cap on streams in flight (`max_streams`): NARs, tarballs, /serve files, logs. */
  readonly streams: StreamSlots;
  /** Staging, the Nix daemon and the push record; undefined when `[push] enable` is off. */
  readonly uploads: Uploads | undefined;
}
