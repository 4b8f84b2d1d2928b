// storefront's configuration: a TOML file with harmonia's key names where harmonia has the
// setting, so that a harmonia config works unchanged, plus environment variables that harmonia
// and nix-serve users already set.

import { dirname, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { parseTokenConfigs, type TokenConfig } from "./token-config.ts";
import { readConfiguredFile } from "./config-files.ts";
import { formatListenAddress, parseListenAddress, type ListenAddress } from "./listen-address.ts";
import { ConfigError } from "../errors.ts";
import { parsePublicKey } from "../core/nix/signing-key.ts";
import {
  absolutePath,
  absolutePathAsWritten,
  applySchema,
  boolean,
  byteSize,
  integer,
  optionalByteSize,
  optionalString,
  section,
  string,
  stringList,
  tableList,
  type ConfigOf,
} from "./config-schema.ts";

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

/**
 * storefront's own state (uploads, the state database) goes by default under systemd's
 * `StateDirectory=` (which sets `$STATE_DIRECTORY`, colon-separated when several are
 * configured), else /var/lib/storefront.
 */
function defaultStateDir(env: NodeJS.ProcessEnv): string {
  const stateDirectory = env["STATE_DIRECTORY"]?.split(":")[0];
  return stateDirectory === undefined || stateDirectory === ""
    ? "/var/lib/storefront"
    : stateDirectory;
}

/**
 * Every key of the config file, with its type, default and meaning: the one place they are
 * written. The README's config table says the same (test/config-readme.test.ts checks it).
 */
export const configSchema = {
  bind: string({
    doc: "where to listen: `host:port`, `[::]:port`, `unix:/path`",
    default: "[::]:5000",
  }),
  workers: integer(1, 1024, {
    doc: "processes serving requests; `1`: one process, no cluster",
    // One process serves NARs from their layouts at the speed of a static file server, and the
    // libuv thread pool compresses on the other cores; each more process costs ~80 MiB.
    default: 1,
  }),
  max_connection_rate: integer(1, 1_000_000, {
    // harmonia's (actix's) bound on TLS handshakes in progress per worker; see the README for
    // why storefront does not need it.
    doc: "accepted for harmonia compatibility and ignored; see below",
    default: 256,
  }),
  max_connections: integer(1, 1_000_000, {
    doc: "connections open at once, per process; a request on one more gets `503`",
    default: 2048,
  }),
  max_streams: integer(1, 100_000, {
    // Each stream holds about 1 MiB (4 MiB with zstd, its encoder's state): 32 of them keep a
    // process within its memory goal whatever the downloads, and 32 downloads at full speed
    // already fill a link or the disk.
    doc: "NARs, tarballs, listings, files and logs sent at once, per process; see below",
    default: 32,
  }),
  priority: integer(0, 1_000_000, {
    doc: "priority in `/nix-cache-info` (lower wins; cache.nixos.org has 40)",
    default: 30,
  }),
  virtual_nix_store: absolutePath({
    doc: "the store directory as clients see it",
    default: "/nix/store",
  }),
  real_nix_store: absolutePath({
    doc: "where the files are, e.g. `/tmp/x/nix/store` for a store made with `--store /tmp/x`",
    default: ({ top }) => top["virtual_nix_store"] as string,
    defaultText: "virtual_nix_store",
  }),
  nix_db_path: absolutePath({
    doc: "Nix's database",
    default: ({ top }) => resolve(dirname(top["real_nix_store"] as string), "var/nix/db/db.sqlite"),
    defaultText: "<real_nix_store>/../var/nix/db/db.sqlite",
  }),
  sign_key_path: optionalString({
    doc: "one more key file (harmonia's older key)",
    default: undefined,
  }),
  sign_key_paths: stringList({
    doc: "secret key files; each narinfo gets one signature per key",
    default: [],
  }),
  tls_cert_path: optionalString({
    doc: "PEM certificate chain; with `tls_key_path`, serve HTTPS",
    default: undefined,
  }),
  tls_key_path: optionalString({ doc: "PEM private key for `tls_cert_path`", default: undefined }),
  enable_compression: boolean({
    doc: "compress NARs, tarballs and large listings (zstd, br, gzip) when the client accepts it",
    // On by default, unlike harmonia: repeat downloads and the compressed-NAR cache rely on it.
    default: true,
  }),
  shutdown_timeout: integer(0, 86_400, {
    doc: "seconds running downloads get to finish after SIGTERM/SIGINT; then they are cut",
    default: 30,
  }),
  request_header_timeout: integer(1, 3_600, {
    doc: "seconds a client has to send its request headers, else it gets 408 and is cut",
    default: 30,
  }),
  idle_timeout: integer(1, 86_400, {
    doc: "seconds a connection may have nothing moving (idle keep-alive, stalled reader)",
    default: 60,
  }),
  daemon_socket: absolutePath({
    doc: "the Nix daemon's socket; pushed paths are registered through it",
    default: "/nix/var/nix/daemon-socket/socket",
  }),
  state_dir: absolutePath({
    doc: "uploads staged in `uploads/`; last use, history, pushes, GC runs in `state.sqlite`",
    default: ({ env }) => defaultStateDir(env),
    defaultText: "`$STATE_DIRECTORY`, else `/var/lib/storefront`",
  }),
  admin_token_paths: stringList({
    doc: "files each holding one admin token: every scope, any netrc login",
    default: [],
  }),
  access: section("Who may read, push and pin.", {
    public: boolean({
      doc: "`false`: a private cache, read with a `read` token",
      default: true,
    }),
    tokens: tableList({
      doc: "tokens: `name` (netrc login), `secret_path`, `scopes`",
      default: [],
      defaultText: "none",
    }),
  }),
  metrics: section("Prometheus metrics.", {
    enable: boolean({ doc: "serve `/metrics`", default: true }),
    bind: optionalString({
      doc: "serve `/metrics` on this address alone (plain HTTP), and not on `bind`",
      default: undefined,
    }),
  }),
  status: section("The status page.", {
    enable: boolean({
      doc: "serve `/status` and `/status.json` (see [The status page](#the-status-page))",
      default: true,
    }),
  }),
  gcroots: section("GC roots made by pins.", {
    dir: absolutePath({
      doc: "where pins keep their roots; must be inside Nix's `gcroots` for Nix to honour them",
      default: ({ top }) =>
        resolve(dirname(top["real_nix_store"] as string), "var/nix/gcroots/storefront"),
      defaultText: "<real_nix_store>/../var/nix/gcroots/storefront",
    }),
    pin_new_paths: boolean({
      doc: "pin the top-level paths among those newly registered in the store (pushes), not `.drv`",
      default: false,
    }),
    new_path_keep_days: integer(1, 100_000, {
      doc: "days such a pin keeps its closure",
      default: 30,
    }),
    prune_interval: integer(1, 31_536_000, {
      doc: "seconds between the daemon's removals of expired pin revisions",
      default: 3600,
    }),
  }),
  exposure: section("What is served: all of the store, or only the closures of chosen roots.", {
    only_closures_of: stringList({
      doc: "serve only the closures of these roots; empty: the whole store (see below)",
      default: [],
    }),
    include_derivers: boolean({
      doc: "serve also the `.drv` files that built the served paths, and their closures",
      default: false,
    }),
  }),

  push: section("Uploads with `nix copy --to http://...`.", {
    enable: boolean({
      doc: "accept `nix copy --to http://...` (see [Pushing](#pushing))",
      default: false,
    }),
    trusted_keys: stringList({
      doc: "public keys `name:base64`; when set, a pushed path without CA must be signed by one",
      default: [],
    }),
    max_nar_size: byteSize({
      doc: "a larger upload (compressed or decoded) is refused with `413`",
      default: 16 * 1024 ** 3,
      defaultText: '"16G"',
    }),
  }),
  gc: section("The store kept within a budget: dead paths deleted, least recently used first.", {
    max_store_size: optionalByteSize({
      doc: 'NAR bytes of all valid paths kept below this; `"200G"`; unset: no size budget',
      default: undefined,
    }),
    min_free: optionalByteSize({
      doc: "free space kept on the store's file system; unset: none",
      default: undefined,
    }),
    interval: integer(1, 31_536_000, {
      doc: "seconds between checks of the budget and samples of the store; also after a push",
      default: 600,
    }),
  }),

  // Transport compression and the cache of compressed NARs.
  zstd: section("zstd transport compression.", {
    level: integer(1, 22, {
      doc: "zstd level (1–22) for compressed responses and cached NARs",
      default: 3,
    }),
  }),
  nar_cache: section(
    "The on-disk cache of NAR layouts and zstd-compressed NARs, for repeat downloads.",
    {
      enable: boolean({
        doc: "keep NAR layouts and zstd-compressed NARs on disk for repeat downloads",
        default: true,
      }),
      path: absolutePathAsWritten({
        doc: "directory of the cache (systemd's `CacheDirectory=` sets `$CACHE_DIRECTORY`)",
        default: ({ env }) => defaultNarCachePath(env),
        defaultText: "`$CACHE_DIRECTORY/nars`, else `/var/cache/storefront/nars`",
      }),
      max_size: byteSize({
        doc: 'size limit; bytes or `"512M"`, `"10G"`; least recently used NARs are evicted',
        default: 10 * 1024 ** 3,
        defaultText: '"10G"',
      }),
    },
  ),
} as const;

type FileConfig = ConfigOf<typeof configSchema>;

export type NarCacheConfig = FileConfig["nar_cache"];

export interface Config extends Omit<FileConfig, "sign_key_path" | "access"> {
  readonly access: { readonly public: boolean; readonly tokens: readonly TokenConfig[] };
  /** `bind`, parsed. */
  readonly listen: ListenAddress;
  /** `[metrics] bind`, parsed; undefined: /metrics is on `listen` (when enabled). */
  readonly metricsListen: ListenAddress | undefined;
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
  const { sign_key_path, ...fromFile } = applySchema(configSchema, raw, source, env);
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
  const tokens = parseTokenConfigs(parsed.access.tokens, source);
  const notAbsolute = parsed.exposure.only_closures_of.find(
    (entry) => entry !== "pins" && !entry.startsWith("/"),
  );
  if (notAbsolute !== undefined) {
    throw new ConfigError(
      `${source}: "exposure.only_closures_of": entry ${JSON.stringify(notAbsolute)} is not "pins" or an absolute path`,
    );
  }
  for (const key of parsed.push.trusted_keys) {
    const problem = parsePublicKey(key);
    if (!problem.ok) {
      throw new ConfigError(
        `${source}: "push.trusted_keys": ${problem.reason}; give public keys as "name:base64", as in nix.conf's trusted-public-keys`,
      );
    }
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
    access: Object.freeze({
      public: parsed.access.public,
      tokens,
    }),
    listen,
    metricsListen,
    source,
  });
}
