// storefront's configuration: a TOML file with harmonia's key names where harmonia has the
// setting, so that a harmonia config works unchanged, plus environment variables that harmonia
// and nix-serve users already set.

import { dirname, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { readConfiguredFile } from "./config-files.ts";
import { parsePublicKey } from "./core/signing-key.ts";
import {
  formatListenAddress,
  parseListenAddress,
  type ListenAddress,
} from "./core/listen-address.ts";
import {
  ConfigError,
  absolutePath,
  applySchema,
  boolean,
  byteSize,
  integer,
  optionalString,
  section,
  string,
  stringList,
  type ConfigOf,
} from "./config-schema.ts";

export { ConfigError };

export const configSchema = {
  bind: string({
    doc: "Where to listen: `host:port`, `[::]:port` or `unix:/path`.",
    default: "[::]:5000",
  }),
  workers: integer(1, 1024, {
    doc: "Processes serving requests; 1: one process, no cluster.",
    // One process serves NARs from their layouts at the speed of a static file server, and the
    // libuv thread pool compresses on the other cores; each more process costs ~80 MiB.
    default: 1,
  }),
  max_connection_rate: integer(1, 1_000_000, {
    // harmonia's (actix's) bound on TLS handshakes in progress per worker; see the README for
    // why storefront does not need it.
    doc: "Accepted for harmonia compatibility and ignored; max_connections bounds connections.",
    default: 256,
  }),
  max_connections: integer(1, 1_000_000, {
    doc: "Connections open at once (harmonia's key); a request on one more is answered 503 with Retry-After and its connection closed.",
    default: 2048,
  }),
  max_streams: integer(1, 100_000, {
    // Each stream holds about 1 MiB (4 MiB with zstd, its encoder's state): 32 of them keep a
    // process within its memory goal whatever the downloads, and 32 downloads at full speed
    // already fill a link or the disk.
    doc: "Responses streaming a store path's contents at once (NARs, tarballs, .ls listings, /serve files, build logs); one more waits up to 5 s for a slot, then gets 503 with Retry-After.",
    default: 32,
  }),
  priority: integer(0, 1_000_000, {
    doc: "Priority in /nix-cache-info; lower wins (cache.nixos.org has 40).",
    default: 30,
  }),
  virtual_nix_store: absolutePath({
    doc: "The store directory as clients see it (in store paths and narinfos).",
    default: "/nix/store",
  }),
  real_nix_store: absolutePath({
    doc: "Where the store's files are, e.g. /tmp/x/nix/store for a store made with --store /tmp/x.",
    default: (partial) => partial["virtual_nix_store"] as string,
    defaultText: "virtual_nix_store",
  }),
  nix_db_path: absolutePath({
    doc: "Nix's SQLite database.",
    default: (partial) =>
      resolve(dirname(partial["real_nix_store"] as string), "var/nix/db/db.sqlite"),
    defaultText: "<real_nix_store>/../var/nix/db/db.sqlite",
  }),
  sign_key_path: optionalString({
    doc: "One secret key file (deprecated in harmonia; added to sign_key_paths).",
    default: undefined,
  }),
  sign_key_paths: stringList({
    doc: "Secret key files in Nix's format; each narinfo gets one signature per key.",
    default: [],
  }),
  tls_cert_path: optionalString({
    doc: "PEM certificate chain; with tls_key_path, serve HTTPS.",
    default: undefined,
  }),
  tls_key_path: optionalString({ doc: "PEM private key for tls_cert_path.", default: undefined }),
  enable_compression: boolean({
    doc: "Compress large responses (NARs, tarballs) with zstd, br or gzip when the client accepts it.",
    // On by default, unlike harmonia: repeat downloads and the compressed-NAR cache rely on it.
    default: true,
  }),
  shutdown_timeout: integer(0, 86_400, {
    doc: "Seconds that running downloads get to finish after SIGTERM or SIGINT before they are cut.",
    default: 30,
  }),
  request_header_timeout: integer(1, 3_600, {
    doc: "Seconds a client has to send a request's headers; a client that stalls is disconnected.",
    default: 30,
  }),
  idle_timeout: integer(1, 86_400, {
    doc: "Seconds a connection may sit with nothing moving (idle keep-alive, or a client that stopped reading) before it is closed.",
    default: 60,
  }),
  daemon_socket: absolutePath({
    doc: "The Nix daemon's socket; uploads ([push]) are registered through it. Reads use the database.",
    default: "/nix/var/nix/daemon-socket/socket",
  }),
  state_dir: absolutePath({
    doc: "storefront's own state: uploads are staged in <state_dir>/uploads, pushes recorded in <state_dir>/pushes.jsonl.",
    default: "/var/lib/storefront",
  }),
  admin_token_paths: stringList({
    doc: "Files each holding one bearer token for the admin API (/api/v1/pins); none: the API is off.",
    default: [],
  }),
  metrics: section("Prometheus metrics.", {
    enable: boolean({ doc: "Serve metrics at /metrics.", default: true }),
    bind: optionalString({
      doc: "Serve /metrics on this address of its own (and not on `bind`); unset: on `bind`.",
      default: undefined,
    }),
  }),
  gcroots: section("GC roots made by pins.", {
    dir: optionalString({
      doc: "Where pins keep their roots (symlinks that Nix's garbage collector follows).",
      default: undefined,
      defaultText: "<real_nix_store>/../var/nix/gcroots/storefront",
    }),
    pin_new_paths: boolean({
      doc: "Pin the top-level paths among those newly registered in the store (pushed closures).",
      default: false,
    }),
    new_path_keep_days: integer(1, 100_000, {
      doc: "Days that a pin made by pin_new_paths keeps its paths.",
      default: 30,
    }),
    prune_interval: integer(1, 31_536_000, {
      doc: "Seconds between the daemon's removals of expired pin revisions.",
      default: 3600,
    }),
  }),

  push: section("Uploads with `nix copy --to http://...` (issue 15).", {
    enable: boolean({
      doc: "Accept uploads (NARs, narinfos, logs, realisations).",
      default: false,
    }),
    trusted_keys: stringList({
      doc: 'Public keys "name:base64"; when not empty, a pushed path that is not content-addressed must carry a valid signature by one of them.',
      default: [],
    }),
    max_nar_size: byteSize({
      doc: "A larger upload (compressed or not) is refused with 413 before it is written.",
      default: 16 * 1024 ** 3,
      defaultText: '"16G"',
    }),
  }),

  // Transport compression and the cache of compressed NARs.
  zstd: section("zstd transport compression.", {
    level: integer(1, 22, {
      doc: "zstd level for compressed responses and cached NARs (higher: smaller, slower).",
      default: 3,
    }),
  }),
  nar_cache: section(
    "The on-disk cache of NAR layouts and zstd-compressed NARs, for repeat downloads.",
    {
      enable: boolean({
        doc: "Keep NAR layouts and zstd-compressed NARs for repeat downloads.",
        default: true,
      }),
      path: optionalString({
        doc: "Directory of the cache; created when missing.",
        default: undefined,
        defaultText: "$CACHE_DIRECTORY/nars, else /var/cache/storefront/nars",
      }),
      max_size: byteSize({
        doc: 'Size limit of the cache; least recently used entries are evicted. Bytes or "10G", "512M".',
        default: 10 * 1024 ** 3,
        defaultText: '"10G"',
      }),
    },
  ),
} as const;

type FileConfig = ConfigOf<typeof configSchema>;

export interface NarCacheConfig {
  readonly enable: boolean;
  /** The directory, with its default resolved. */
  readonly path: string;
  readonly max_size: number;
}

export interface Config extends Omit<FileConfig, "sign_key_path" | "nar_cache" | "gcroots"> {
  readonly nar_cache: NarCacheConfig;
  /** `bind`, parsed. */
  readonly listen: ListenAddress;
  /** `[metrics] bind`, parsed; undefined: /metrics is on `listen` (when enabled). */
  readonly metricsListen: ListenAddress | undefined;
  readonly gcroots: FileConfig["gcroots"] & { readonly dir: string };
  /** Where each setting came from, for messages: the config file's path or "defaults". */
  readonly source: string;
}

/** Environment variables that add key files, as harmonia and nix-serve read them. */
function keyPathsFromEnv(env: NodeJS.ProcessEnv): string[] {
  const paths: string[] = [];
  for (const name of ["SIGN_KEY_PATHS", "SIGN_KEY_PATH", "NIX_SECRET_KEY_FILE"]) {
    const value = env[name];
    if (value !== undefined) paths.push(...value.split(/\s+/).filter((p) => p !== ""));
  }
  return paths;
}

/** Token files from ADMIN_TOKEN_PATHS (space-separated), added to admin_token_paths. */
function tokenPathsFromEnv(env: NodeJS.ProcessEnv): string[] {
  return (env["ADMIN_TOKEN_PATHS"] ?? "").split(/\s+/).filter((p) => p !== "");
}

/**
 * Where compressed NARs go by default: under systemd's `CacheDirectory=` (which sets
 * `$CACHE_DIRECTORY`, colon-separated when several are configured), else /var/cache.
 */
function defaultNarCachePath(env: NodeJS.ProcessEnv): string {
  const cacheDirectory = env["CACHE_DIRECTORY"]?.split(":")[0];
  return cacheDirectory === undefined || cacheDirectory === ""
    ? "/var/cache/storefront/nars"
    : `${cacheDirectory}/nars`;
}

/** Whether two listeners would take the same address (a wildcard host takes every host). */
function sameListenAddress(a: ListenAddress, b: ListenAddress): boolean {
  if (a.kind === "unix" || b.kind === "unix") {
    return a.kind === "unix" && b.kind === "unix" && a.path === b.path;
  }
  const wildcard = (host: string): boolean => host === "::" || host === "0.0.0.0";
  // Port 0 picks a free port each time: never the same.
  return (
    a.port === b.port && a.port !== 0 && (a.host === b.host || wildcard(a.host) || wildcard(b.host))
  );
}

function readToml(file: string): Record<string, unknown> {
  const text = readConfiguredFile(file, "config file").toString("utf8");
  try {
    return parseToml(text);
  } catch (error) {
    // smol-toml's message is "Invalid TOML document: <reason>", then the line with a caret.
    const message = error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
    const reason = message.replace(/^Invalid TOML document: /, "");
    const { line, column } = error as { line?: unknown; column?: unknown };
    const where =
      typeof line === "number" ? `:${line}${typeof column === "number" ? `:${column}` : ""}` : "";
    throw new ConfigError(`${file}${where}: not valid TOML: ${reason}`);
  }
}

/**
 * Settings given as options of `storefront serve`. They win over the environment and the file:
 * `--bind` replaces `bind`; key files are added to those of the file and the environment.
 */
export interface CommandLineSettings {
  readonly bind?: string | undefined;
  readonly signKeyPaths?: readonly string[] | undefined;
}

/**
 * Loads the config from `file` (or `$CONFIG_FILE`, or the defaults), adds key files from the
 * environment and the command line, and checks everything that can be checked without opening
 * files. Precedence: command line, then environment, then file, then defaults.
 */
export function loadConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  flags: CommandLineSettings = {},
): Config {
  const path = file ?? env["CONFIG_FILE"];
  const source = path ?? "defaults";
  const raw = path === undefined ? {} : readToml(path);
  const { sign_key_path, ...fromFile } = applySchema(configSchema, raw, source);
  const parsed = { ...fromFile, bind: flags.bind ?? fromFile.bind };

  const listen = parseListenAddress(parsed.bind);
  if (typeof listen === "string") {
    const where = flags.bind === undefined ? `${source}: "bind"` : `--bind "${parsed.bind}"`;
    throw new ConfigError(`${where}: ${listen}`);
  }
  if ((parsed.tls_cert_path === undefined) !== (parsed.tls_key_path === undefined)) {
    throw new ConfigError(`${source}: set both "tls_cert_path" and "tls_key_path", or neither`);
  }
  if (listen.kind === "unix" && parsed.tls_cert_path !== undefined) {
    // As in harmonia: a unix socket is reached by a local proxy, which terminates TLS itself.
    throw new ConfigError(
      `${source}: TLS ("tls_cert_path") cannot be used with a unix socket "bind"; use host:port`,
    );
  }
  const storeDir = env["NIX_STORE_DIR"];
  let metricsListen: ListenAddress | undefined;
  if (parsed.metrics.bind !== undefined) {
    const parsedBind = parseListenAddress(parsed.metrics.bind);
    if (typeof parsedBind === "string") {
      throw new ConfigError(`${source}: "metrics.bind": ${parsedBind}`);
    }
    metricsListen = parsedBind;
    if (sameListenAddress(listen, metricsListen)) {
      throw new ConfigError(
        `${source}: "metrics.bind" ${formatListenAddress(metricsListen)} is where "bind" listens already; give /metrics an address of its own, or remove "metrics.bind" to serve it on "bind"`,
      );
    }
  }
  const rootsDir =
    parsed.gcroots.dir ?? resolve(dirname(parsed.real_nix_store), "var/nix/gcroots/storefront");
  if (!rootsDir.startsWith("/")) {
    throw new ConfigError(`${source}: "gcroots.dir" must be an absolute path`);
  }
  for (const key of parsed.push.trusted_keys) {
    const problem = parsePublicKey(key);
    if (!problem.ok) {
      throw new ConfigError(
        `${source}: "push.trusted_keys": ${problem.reason}; give public keys as "name:base64", as in nix.conf's trusted-public-keys`,
      );
    }
  }
  const narCachePath = parsed.nar_cache.path ?? defaultNarCachePath(env);
  if (!narCachePath.startsWith("/")) {
    throw new ConfigError(`${source}: "nar_cache.path" must be an absolute path`);
  }

  return Object.freeze({
    ...parsed,
    virtual_nix_store: storeDir ?? parsed.virtual_nix_store,
    sign_key_paths: Object.freeze([
      ...parsed.sign_key_paths,
      ...(sign_key_path === undefined ? [] : [sign_key_path]),
      ...keyPathsFromEnv(env),
      ...(flags.signKeyPaths ?? []),
    ]),
    admin_token_paths: Object.freeze([...parsed.admin_token_paths, ...tokenPathsFromEnv(env)]),
    gcroots: Object.freeze({ ...parsed.gcroots, dir: rootsDir.replace(/(.)\/+$/, "$1") }),
    nar_cache: Object.freeze({ ...parsed.nar_cache, path: narCachePath }),
    listen,
    metricsListen,
    source,
  });
}
