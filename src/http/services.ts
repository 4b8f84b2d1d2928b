// What routes are given, rather than importing global state. A reload (SIGHUP) replaces
// `config` and `keys` in place and swaps the access policy (see daemon/app.ts): read them per request,
// never keep them.

import type { AccessControl } from "../access/access-control.ts";
import type { Config } from "../config/config.ts";
import type { PathInfo, PathNar } from "../core/nix/path-info.ts";
import type { DrvOutput, Realisation } from "../core/nix/realisation.ts";
import type { SigningKey } from "../core/nix/signing-key.ts";
import type { StoreHash } from "../core/nix/store-path.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { NarInfoCache } from "../store/db/narinfo-cache.ts";
import type { PinService } from "../store/roots/pins.ts";
import type { CompressedNarCache } from "../store/nar-cache/compressed-nar-cache.ts";
import type { NarLayoutCache } from "../store/nar-cache/layout-cache.ts";
import type { StatusService } from "../status/status-service.ts";
import type { StreamSlots } from "./stream-slots.ts";
import type { Uploads } from "../uploads/index.ts";
import type { StateWriter } from "../state/state-writer.ts";

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
  /** Who may read, push and pin: read per request, so that a reload can swap its tokens. */
  readonly access: AccessControl;
  /** zstd-compressed NARs for repeat downloads; undefined when disabled or unusable. */
  readonly narCache: CompressedNarCache | undefined;
  /** NAR layouts, so that a repeat download needs no walk; as `narCache`, in its directory. */
  readonly narLayouts: NarLayoutCache | undefined;
  /**
   * `[exposure] only_closures_of` as configured, for the landing page; undefined: the whole
   * store is served. (`store` already answers only for the served paths.)
   */
  readonly servedRoots: readonly string[] | undefined;
  /** The cap on streams in flight (`max_streams`): NARs, tarballs, /serve files, logs. */
  readonly streams: StreamSlots;
  /**
   * Where a download that starts records the path's use (by its hash part), for the budget's
   * least-recently-used order: a Map set, written off the request path. Undefined without the
   * state database.
   */
  readonly lastUse: Pick<StateWriter, "used"> | undefined;
  /** Staging, the Nix daemon and the push record; undefined when `[push] enable` is off. */
  readonly uploads: Uploads | undefined;
  /** The status page's data; undefined when `[status] enable` is off or nothing is served. */
  readonly status: StatusService | undefined;
}
