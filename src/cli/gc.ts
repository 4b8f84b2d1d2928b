// `storefront gc`: one run of the budget now, beside a serving daemon or without one; with
// `--dry-run`, what it would delete and nothing deleted.

import { hasBudget, limitsOf } from "../budget/budget-task.ts";
import { collect, type CollectResult } from "../budget/collect.ts";
import type { Candidate } from "../budget/plan.ts";
import { clockFromEnv } from "../clock.ts";
import { loadConfig } from "../config/config.ts";
import { StorefrontError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { NixDaemonClient, NixDaemonError } from "../nix-daemon/index.ts";
import { StateDatabase } from "../state/state-database.ts";
import { StoreIndex } from "../store/db/store-index.ts";
import { CommandError, expectNoPositionals, HELP_ROW, helpRows, parseCommand } from "./usage.ts";

export const gcHelp = `Usage: storefront gc [--dry-run] [--config FILE]

Keep the store within its budget ([gc] max_store_size, min_free) now: when it is over, have the
Nix daemon delete dead paths (reachable from no GC root, storefront's pins included), least
recently used first, until the store is within budget or nothing dead is left. A path never
downloaded counts from when it was registered. The daemon does the same every [gc] interval
seconds and after pushes. Exits 1 when the budget cannot be met: what is left is alive.

Options:
${helpRows([
  [
    "--dry-run",
    "print what would be deleted (path, NAR size, last used) and how much\nit frees; delete nothing",
  ],
  ["--config FILE", "TOML config file (default: $CONFIG_FILE)"],
  HELP_ROW,
])}`;

/** How long the command waits for a serving daemon's lock on the state database. */
const BUSY_TIMEOUT_MS = 10_000;

export async function gcCommand(args: string[], log: Logger): Promise<number> {
  const parsed = parseCommand(
    args,
    { "dry-run": { type: "boolean" }, config: { type: "string" } },
    gcHelp,
  );
  if (parsed === undefined) return 0;
  expectNoPositionals(parsed.positionals, gcHelp);
  const dryRun = parsed.values["dry-run"] === true;
  const config = loadConfig(parsed.values.config);
  const limits = limitsOf(config);
  if (!hasBudget(limits)) {
    throw new CommandError(
      `${config.source}: no budget: set [gc] max_store_size (e.g. "200G") or [gc] min_free, or both`,
    );
  }
  const index = new StoreIndex(config.nix_db_path);
  const daemon = new NixDaemonClient({ socketPath: config.daemon_socket, maxConnections: 1 });
  let state: StateDatabase | undefined;
  try {
    state = new StateDatabase(config.state_dir, { busyTimeoutMs: BUSY_TIMEOUT_MS });
    const run = await collect({
      index,
      daemon,
      state,
      limits,
      realStoreDir: config.real_nix_store,
      storeDir: config.virtual_nix_store,
      clock: clockFromEnv(),
      log,
      dryRun,
    });
    if (dryRun) printPlan(run);
    else printRun(run);
    if (!run.unmet) return 0;
    process.stderr.write(
      `storefront: the store stays over its budget by ${run.stillOver} bytes: every other path is alive (a GC root, a pin or in their closures); unpin or remove roots, or raise the budget\n`,
    );
    return 1;
  } catch (error) {
    if (error instanceof NixDaemonError && error.kind !== "daemon") {
      throw new CommandError(
        `cannot use the Nix daemon at ${config.daemon_socket} (daemon_socket): ${error.message}`,
      );
    }
    if (error instanceof StorefrontError) throw new CommandError(error.message);
    throw error;
  } finally {
    state?.close();
    daemon.close();
    index.close();
  }
}

function printPlan(run: CollectResult): void {
  const out = process.stdout;
  if (run.excess === 0) {
    out.write(`within budget: ${describeMeasure(run)}; nothing to delete\n`);
    return;
  }
  for (const path of run.planned) {
    out.write(`would delete ${path.path} ${path.narSize} ${lastUsedText(path)}\n`);
  }
  const bytes = run.planned.reduce((sum, path) => sum + path.narSize, 0);
  out.write(
    `would delete ${run.planned.length} paths, ${bytes} NAR bytes (${binary(bytes)}); over budget by ${run.excess} bytes (${describeMeasure(run)})\n`,
  );
}

function printRun(run: CollectResult): void {
  const out = process.stdout;
  if (run.excess === 0) {
    out.write(`within budget: ${describeMeasure(run)}; nothing deleted\n`);
    return;
  }
  for (const path of run.deletedPaths) out.write(`deleted ${path}\n`);
  out.write(
    `deleted ${run.deletedPaths.length} paths, ${run.deletedBytes} NAR bytes (${binary(run.deletedBytes)}) in ${run.seconds.toFixed(2)} s; now ${run.after.paths} paths, ${run.after.narBytes} NAR bytes, ${run.after.freeBytes} bytes free\n`,
  );
}

/** "last used <time>", or for a path never used "never used, registered <time>". */
function lastUsedText({ registered, lastUsed }: Candidate): string {
  const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  // A path deleted and built again keeps its old hash's record: its registration is later.
  return lastUsed === undefined || lastUsed < registered
    ? `never used, registered ${iso(registered)}`
    : `last used ${iso(lastUsed)}`;
}

function describeMeasure(run: CollectResult): string {
  return `${run.before.paths} paths, ${run.before.narBytes} NAR bytes, ${run.before.freeBytes} bytes free`;
}

function binary(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit] ?? "B"}`;
}
