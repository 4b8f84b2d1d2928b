// `storefront serve --check-config`: everything `serve` checks at start (the config, the
// database, the signing keys, the TLS files), without listening, so that a deploy script or a
// NixOS rebuild can refuse a broken config before it replaces a running daemon.

import type { Token } from "../access/tokens.ts";
import { openApp } from "../daemon/app.ts";
import type { Config } from "../config/config.ts";
import { formatListenAddress } from "../config/listen-address.ts";
import { loadTlsCredentials } from "../http/listen.ts";
import type { Logger } from "../log.ts";

function accessSummary(tokens: readonly Token[]): string {
  if (tokens.length === 0) return "no tokens (pins API off)";
  return tokens
    .map((token) => `${token.name ?? "(admin)"} [${[...token.scopes].join(", ")}]`)
    .join(", ");
}

/** Checks `config` as `serve` would at start; prints a summary and returns the exit code. */
export function checkConfig(config: Config, log: Logger): number {
  loadTlsCredentials(config);
  const app = openApp(config, log, { narCache: false, state: false });
  const served = app.exposure?.totals();
  app.close();
  const keys = app.services.keys.map((key) => key.name);
  const summary = [
    `config ok: ${config.source}`,
    `  bind      ${formatListenAddress(config.listen)}${config.tls_cert_path === undefined ? "" : " (TLS)"}`,
    `  store     ${config.virtual_nix_store} (files in ${config.real_nix_store})`,
    `  database  ${config.nix_db_path} (opened)`,
    `  keys      ${keys.length === 0 ? "none: narinfos carry only the signatures in the database" : keys.join(", ")}`,
    `  workers   ${config.workers}`,
    `  threads   ${config.threads}`,
    `  priority  ${config.priority}`,
    `  nar cache ${config.nar_cache.enable ? `${config.nar_cache.path} (up to ${config.nar_cache.max_size} bytes)` : "off"}`,
    `  metrics   ${!config.metrics.enable ? "off" : config.metricsListen === undefined ? "/metrics on bind" : `/metrics on ${formatListenAddress(config.metricsListen)}`}`,
    `  access    ${config.access.public ? "public" : "private"}; ${accessSummary(app.services.access.policy.tokens)}`,
    `  serves    ${served === undefined ? "the whole store" : `the closures of ${config.exposure.only_closures_of.join(", ")}${config.exposure.include_derivers ? " and their derivers" : ""}: ${served.paths} paths, ${served.bytes} NAR bytes`}`,
    `  gcroots   ${config.gcroots.dir}${config.gcroots.pin_new_paths ? `; new paths pinned for ${config.gcroots.new_path_keep_days} days` : ""}`,
    `  gc        ${gcSummary(config)}`,
    `  status    ${config.status.enable ? `/status and /status.json on bind${config.access.public ? "" : ", with a read token"}` : "off"}`,
    `  push      ${config.push.enable ? `on, through ${config.daemon_socket}; staged in ${config.state_dir}/uploads; up to ${config.push.max_nar_size} bytes a NAR${config.push.trusted_keys.length > 0 ? `; signed by ${config.push.trusted_keys.length} trusted key(s)` : ""}` : "off"}`,
  ];
  process.stdout.write(summary.join("\n") + "\n");
  return 0;
}

/** The budget, as `[gc]` sets it. */
function gcSummary(config: Config): string {
  const { max_store_size: maxSize, min_free: minFree, interval } = config.gc;
  const limits = [
    ...(maxSize === undefined ? [] : [`store up to ${maxSize} NAR bytes`]),
    ...(minFree === undefined ? [] : [`at least ${minFree} bytes free`]),
  ];
  const budget =
    limits.length === 0 ? "no budget" : `${limits.join(", ")}, through ${config.daemon_socket}`;
  return `${budget}; checked and sampled every ${interval} s; state in ${config.state_dir}/state.sqlite`;
}
