// Everything a running storefront needs, opened and checked at start so that a bad key file or
// a missing database fails now, with a clear message, rather than on the first request.

import { AccessControl } from "../access/access-control.ts";
import { loadTokens } from "../access/tokens.ts";
import { systemClock, type Clock } from "../clock.ts";
import { hashPartOf, parseStoreHash, storePathBaseName } from "../core/nix/store-path.ts";
import type { Config } from "../config/config.ts";
import type { Services } from "../http/services.ts";
import type { Logger } from "../log.ts";
import { registerNarCacheMetrics } from "../metrics/nar-cache-metrics.ts";
import { createMetrics, type Metrics } from "../metrics/metrics.ts";
import { StreamSlots } from "../http/stream-slots.ts";
import { fullCollector, youngCollector } from "../process/collect-garbage.ts";
import { loadSigningKeys } from "../config/signing-keys.ts";
import { CacheDirectory } from "../store/nar-cache/cache-directory.ts";
import { CompressedNarCache } from "../store/nar-cache/compressed-nar-cache.ts";
import { StoreDatabase } from "../store/db/database.ts";
import { GcRoots } from "../store/roots/gc-roots.ts";
import { NarInfoCache } from "../store/db/narinfo-cache.ts";
import { NarLayoutCache } from "../store/nar-cache/layout-cache.ts";
import { PinService } from "../store/roots/pins.ts";
import { StoreIndex } from "../store/db/store-index.ts";
import { ThreadedStoreOverview } from "../store/db/overview-thread.ts";
import { StatusService } from "../status/status-service.ts";
import { VERSION } from "../version.ts";
import { Exposure, registerExposureMetrics } from "../exposure/index.ts";
import { openUploads } from "../uploads/index.ts";
import { openState, type OpenedState } from "../state/open-state.ts";

export interface App {
  readonly services: Services;
  /**
   * Reads the signing keys and access tokens of `config` again (SIGHUP), and puts them and
   * `config` (which may differ from the running one only in what routes read per request,
   * process/reload.ts) in place
   * of the running ones, both at once, for the next request; narinfos signed with the old keys
   * are dropped. On any problem it throws a ConfigError naming the file, and the running keys
   * and tokens stay.
   */
  reloadCredentials(config: Config): void;
  /** The store's roots and whole-store queries, for the store monitor. */
  readonly roots: GcRoots;
  readonly index: StoreIndex;
  /** The served set when `[exposure] only_closures_of` is set; its watches start in serving. */
  readonly exposure: Exposure | undefined;
  /** storefront's own database and its batched writer; undefined when off or unusable. */
  readonly state: OpenedState | undefined;
  close(): void;
}

export interface AppOptions {
  /**
   * Open (and create) the NAR cache directory. Off for `--check-config`, which
   * must leave no trace on the machine and may run as another user than the daemon, and in a
   * cluster's primary, which serves nothing. Default: on.
   */
  readonly narCache?: boolean;
  /** The time for pins; default: the system clock. */
  readonly clock?: Clock;
  /** Where requests are recorded; default: a registry of this process's own. */
  readonly metrics?: Metrics;
  /**
   * A cluster worker: its primary opened the same key and token files before forking and
   * warned about any that others can read, so the worker does not warn again. Default: off.
   */
  readonly checkedByPrimary?: boolean;
  /**
   * Open the state database (last uses, history, pushes). Off for `--check-config`, which
   * must leave no trace. Default: on.
   */
  readonly state?: boolean;
}

export function openApp(config: Config, log: Logger, options: AppOptions = {}): App {
  const warnTo = options.checkedByPrimary === true ? undefined : log;
  const keys = loadSigningKeys(config.sign_key_paths, warnTo);
  const tokens = loadTokens(config, warnTo);
  const clock = options.clock ?? systemClock;
  const roots = new GcRoots(config.gcroots.dir, clock);
  const narInfoCache = new NarInfoCache();
  // Checked before anything is opened: an entry that is no root stops the start, naming it.
  const exposure =
    config.exposure.only_closures_of.length === 0
      ? undefined
      : new Exposure({
          entries: config.exposure.only_closures_of,
          includeDerivers: config.exposure.include_derivers,
          dbPath: config.nix_db_path,
          dirs: { virtual: config.virtual_nix_store, real: config.real_nix_store },
          pinnedPaths: () =>
            roots.list().flatMap((pin) => pin.revisions.map((revision) => revision.storePath)),
          log,
          onShrink: () => {
            narInfoCache.invalidate();
          },
        });
  const store = new StoreDatabase(
    config.nix_db_path,
    config.virtual_nix_store,
    exposure && ((id) => exposure.serves(id)),
  );
  const index = new StoreIndex(config.nix_db_path);
  const pins = new PinService(roots, index, config.virtual_nix_store, config.real_nix_store);
  const metrics = options.metrics ?? createMetrics();
  const state = options.state === false ? undefined : openState(config, clock, log);
  const cacheDirectory =
    options.narCache === false ? undefined : CacheDirectory.open(config.nar_cache, log);
  const narCache =
    cacheDirectory === undefined
      ? undefined
      : {
          directory: cacheDirectory,
          compressed: new CompressedNarCache(cacheDirectory, config.zstd.level),
          layouts: new NarLayoutCache(cacheDirectory),
        };
  if (narCache !== undefined) registerNarCacheMetrics(metrics.registry, narCache);
  // Not for --check-config nor a cluster's primary (narCache off): they serve nothing.
  const status =
    config.status.enable && options.narCache !== false
      ? new StatusService({
          overview: new ThreadedStoreOverview(config.nix_db_path),
          pins: roots,
          storeDir: config.virtual_nix_store,
          realStoreDir: config.real_nix_store,
          state: state?.database,
          budget: { maxStoreSize: config.gc.max_store_size, minFree: config.gc.min_free },
          serves: exposure && ((id) => exposure.serves(id)),
          // The store database answers only for served paths under [exposure].
          servesPath:
            exposure &&
            ((storePath) => {
              const baseName = storePathBaseName(config.virtual_nix_store, storePath);
              const hash =
                baseName === undefined ? undefined : parseStoreHash(hashPartOf(baseName));
              return hash !== undefined && store.pathInfo(hash)?.storePath === storePath;
            }),
        })
      : undefined;
  if (exposure !== undefined) registerExposureMetrics(metrics.registry, exposure);
  // Routes read the keys and tokens from here on every request, so a reload replaces them
  // without a restart; nothing else in the services changes.
  const services: { -readonly [K in keyof Services]: Services[K] } = {
    config,
    store,
    keys,
    log,
    version: VERSION,
    metrics,
    narInfoCache,
    pins,
    access: new AccessControl({ public: config.access.public, tokens }, log, metrics.registry),
    narCache: narCache?.compressed,
    narLayouts: narCache?.layouts,
    servedRoots: exposure?.entries,
    // Not for --check-config nor a cluster's primary (narCache off): they serve nothing.
    lastUse: state?.writer,
    uploads:
      options.narCache === false
        ? undefined
        : openUploads(config, metrics, state?.writer, youngCollector()),
    streams: new StreamSlots(config.max_streams, {
      metrics: { inFlight: metrics.streamsInFlight, refused: metrics.streamsRefused },
      collect: fullCollector(),
    }),
    status,
  };
  return {
    services,
    reloadCredentials: (next) => {
      const reloadedKeys = loadSigningKeys(next.sign_key_paths, warnTo);
      const reloadedTokens = loadTokens(next, warnTo);
      // `next` differs from the running config only in what routes read per request.
      services.config = next;
      services.keys = reloadedKeys;
      services.access.replace({ public: next.access.public, tokens: reloadedTokens });
      services.narInfoCache.invalidate();
    },
    roots,
    index,
    exposure,
    state,
    close: () => {
      store.close();
      index.close();
      exposure?.close();
      services.uploads?.close();
      state?.close();
    },
  };
}
