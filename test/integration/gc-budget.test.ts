// The store kept within its budget, against a real nix-daemon on a throw-away store: dead paths
// of known sizes, some pinned, some downloaded through storefront just now, and older uses in
// the state database. One `storefront gc` deletes the least recently used dead paths until the
// store is within budget, and `--dry-run` before it lists exactly those; a store whose paths
// are all alive stays whole and the run says it could not meet the budget; the daemon runs the
// budget every `[gc] interval` by itself.

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateDatabase } from "../../src/state/state-database.ts";
import { StoreIndex } from "../../src/store/db/store-index.ts";
import { baseNameOf, hashOf, hasNix, makeTestStore, nixCopyTo } from "../support/nix.ts";
import { startNixDaemon, type TestDaemon } from "../support/nix-daemon.ts";
import { parseMetrics, sumOf } from "../support/metrics.ts";
import { runCli, startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor, waitForValue } from "../support/wait.ts";

const DAY_MS = 24 * 3_600_000;

/** Adds a file of `size` random bytes named `name` through the daemon; returns its path. */
function addFile(daemon: TestDaemon, dir: string, name: string, size: number): string {
  const file = join(dir, name);
  writeFileSync(file, randomBytes(size));
  const added = spawnSync("nix-store", ["--store", `unix://${daemon.socketPath}`, "--add", file], {
    encoding: "utf8",
  });
  expect(added.status, added.stderr).toBe(0);
  return added.stdout.trim();
}

function narSizes(daemon: TestDaemon, paths: readonly string[]): Map<string, number> {
  const index = new StoreIndex(daemon.store.dbPath);
  try {
    return new Map(index.pathRows(paths).map((row) => [row.path, row.narSize]));
  } finally {
    index.close();
  }
}

function storeTotals(daemon: TestDaemon): { count: number; bytes: number } {
  const index = new StoreIndex(daemon.store.dbPath);
  try {
    const { count, bytes } = index.totals();
    return { count, bytes };
  } finally {
    index.close();
  }
}

function configFor(daemon: TestDaemon, work: string, gc: string, more = ""): string {
  return (
    `bind = "127.0.0.1:0"\n${daemon.store.configLine}` +
    `daemon_socket = "${daemon.socketPath}"\nstate_dir = "${join(work, "state")}"\n` +
    `${more}[gc]\n${gc}`
  );
}

describe.skipIf(!hasNix)("the store's budget (storefront gc)", () => {
  let daemon: TestDaemon;
  let server: RunningServer;
  let work: string;
  let gcConfig: string;
  /** Dead, registered 60 days ago and never used since: it goes first. */
  let stale = "";
  /** Dead, registered 60 days ago, used days ago: the oldest use goes first. */
  const old: string[] = [];
  /** Dead and never used, registered now: they count from their registration. */
  const fresh: string[] = [];
  /** Pinned, registered 60 days ago and never used: only their pins keep them. */
  const pinned: string[] = [];
  /** Dead, downloaded through storefront in the test. */
  const downloaded: string[] = [];
  let sizes: Map<string, number>;

  const cli = (args: string[]) => runCli([...args, "--config", gcConfig]);

  beforeAll(async () => {
    daemon = await startNixDaemon();
    work = tempDir("storefront-gc-");
    const files = tempDir("storefront-gc-files-");
    stale = addFile(daemon, files, "stale", 20_000);
    for (let i = 0; i < 4; i++) old.push(addFile(daemon, files, `old-${i}`, (i + 1) * 40_000));
    for (let i = 0; i < 2; i++) fresh.push(addFile(daemon, files, `fresh-${i}`, 30_000));
    for (let i = 0; i < 2; i++) pinned.push(addFile(daemon, files, `pinned-${i}`, 200_000));
    for (let i = 0; i < 3; i++) downloaded.push(addFile(daemon, files, `used-${i}`, 100_000));
    sizes = narSizes(daemon, [stale, ...old, ...fresh, ...pinned, ...downloaded]);
    const now = Date.now();
    // Registered 60 days ago, as if pushed then: Nix's own column, in seconds.
    const nixDb = new DatabaseSync(daemon.store.dbPath, { timeout: 10_000 });
    const registered = nixDb.prepare("UPDATE ValidPaths SET registrationTime = ? WHERE path = ?");
    for (const path of [stale, ...old, ...pinned, ...downloaded]) {
      registered.run(Math.floor((now - 60 * DAY_MS) / 1000), path);
    }
    nixDb.close();
    // Served without a budget: the test's own `storefront gc` is the only run.
    server = await startServer(work, configFor(daemon, work, "interval = 3600\n"));
    // Uses from before, as if downloaded days ago: old-0 the longest ago.
    const state = new StateDatabase(join(work, "state"), { busyTimeoutMs: 5000 });
    state.write(
      new Map([
        ...old.map((path, i): [string, number] => [hashOf(path), now - (40 - i) * DAY_MS]),
        // Downloaded long ago too: the download in the test makes them recent.
        ...downloaded.map((path): [string, number] => [hashOf(path), now - 50 * DAY_MS]),
      ]),
      [],
    );
    state.close();
    gcConfig = join(work, "gc.toml");
    writeFileSync(gcConfig, configFor(daemon, work, "interval = 3600\n"));
  }, 300_000);

  afterAll(async () => {
    await server.stop();
    await daemon.stop();
  });

  it("records a download's use (a NAR, a .tar, a /serve file; not a HEAD) within seconds", async () => {
    const [nar = "", tar = "", served = ""] = downloaded;
    const narinfo = await (await fetch(`${server.url}/${hashOf(nar)}.narinfo`)).text();
    const narUrl = `${server.url}/${/^URL: (.*)$/m.exec(narinfo)?.[1] ?? ""}`;
    const urls = [
      narUrl,
      `${server.url}/${hashOf(tar)}.tar`,
      `${server.url}/serve/${baseNameOf(served)}`,
    ];
    for (const url of urls) {
      const response = await fetch(url);
      expect([url, response.status]).toEqual([url, 200]);
      await response.arrayBuffer();
    }
    // A HEAD reads nothing: no use.
    const untouched = old[3] ?? "";
    const untouchedInfo = await (await fetch(`${server.url}/${hashOf(untouched)}.narinfo`)).text();
    const head = await fetch(`${server.url}/${/^URL: (.*)$/m.exec(untouchedInfo)?.[1] ?? ""}`, {
      method: "HEAD",
    });
    expect(head.status).toBe(200);
    const requested = Date.now();
    const state = new StateDatabase(join(work, "state"), { busyTimeoutMs: 5000 });
    try {
      // Written at most a second after the request; the margin is for a busy machine.
      await waitFor(
        () =>
          [...state.lastUses(downloaded.map(hashOf)).values()].every(
            (time) => time >= requested - 60_000,
          ),
        "the downloads' last use in state.sqlite",
        5000,
      );
      expect(state.lastUses([hashOf(untouched)]).get(hashOf(untouched))).toBeLessThan(
        requested - 30 * DAY_MS,
      );
    } finally {
      state.close();
    }
  });

  it("deletes the least recently used dead paths until within budget; --dry-run lists them first", async () => {
    for (const [i, path] of pinned.entries()) {
      const pin = await cli(["pin", `keep-${i}`, path]);
      expect(pin.code, pin.stderr).toBe(0);
    }
    const before = storeTotals(daemon);
    // Over by stale, old-0 and old-1 but one byte: those three go, least recently used first.
    const expected = [stale, ...old.slice(0, 2)];
    const toFree = expected.reduce((sum, path) => sum + (sizes.get(path) ?? 0), 0);
    const budget = before.bytes - toFree + 1;
    writeFileSync(gcConfig, configFor(daemon, work, `max_store_size = ${budget}\n`));

    const dry = await cli(["gc", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    const listed = dry.stdout
      .split("\n")
      .filter((line) => line.startsWith("would delete /"))
      .map((line) => line.split(" "));
    expect(listed.map((fields) => fields[2])).toEqual(expected);
    expect(listed.map((fields) => Number(fields[3]))).toEqual(
      expected.map((path) => sizes.get(path)),
    );
    expect(listed.map((fields) => fields.slice(4, 6).join(" "))).toEqual([
      "never used,",
      "last used",
      "last used",
    ]);
    expect(dry.stdout).toContain(`would delete 3 paths, ${toFree} NAR bytes`);
    // Nothing deleted by the dry run.
    expect(storeTotals(daemon)).toEqual(before);

    const run = await cli(["gc"]);
    expect(run.code, run.stderr).toBe(0);
    const deleted = run.stdout
      .split("\n")
      .filter((line) => line.startsWith("deleted /"))
      .map((line) => line.slice("deleted ".length));
    expect(deleted.sort()).toEqual([...expected].sort());
    expect(run.stdout).toContain(`deleted 3 paths, ${toFree} NAR bytes`);
    const after = storeTotals(daemon);
    expect(after).toEqual({ count: before.count - 3, bytes: before.bytes - toFree });
    expect(after.bytes).toBeLessThanOrEqual(budget);
    for (const path of expected) expect(existsSync(daemon.store.realPath(path))).toBe(false);
    for (const path of [...old.slice(2), ...fresh, ...pinned, ...downloaded]) {
      expect([path, existsSync(daemon.store.realPath(path))]).toEqual([path, true]);
    }
    // The run is recorded, and the deleted paths' uses forgotten.
    const state = new StateDatabase(join(work, "state"), { busyTimeoutMs: 5000 });
    try {
      expect(state.recentGcRuns(1)).toMatchObject([{ paths: 3, bytes: toFree, unmet: false }]);
      expect(state.lastUses(expected.map(hashOf)).size).toBe(0);
    } finally {
      state.close();
    }
    // Within budget now: a second run deletes nothing.
    const again = await cli(["gc"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^within budget: .*; nothing deleted\n$/);
  });

  it("refuses to run without a budget, naming the keys, and a wrong command line", async () => {
    writeFileSync(gcConfig, configFor(daemon, work, "interval = 60\n"));
    const result = await cli(["gc"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no budget: set [gc] max_store_size");
    // A Nix daemon that cannot be reached is named, with the key that names it.
    const socket = join(work, "no-socket");
    writeFileSync(
      gcConfig,
      configFor(daemon, work, 'max_store_size = "1K"\n').replace(daemon.socketPath, socket),
    );
    const unreachable = await cli(["gc", "--dry-run"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(
      `storefront: cannot use the Nix daemon at ${socket} (daemon_socket):`,
    );
    // A wrong command line is exit 2, with the help.
    const wrong = await cli(["gc", "--now"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("Usage: storefront gc [--dry-run] [--config FILE]");
  });
});

describe.skipIf(!hasNix)("a budget that only live paths stand in the way of", () => {
  let daemon: TestDaemon;
  let work: string;
  let gcConfig: string;
  const paths: string[] = [];

  beforeAll(async () => {
    daemon = await startNixDaemon();
    work = tempDir("storefront-gc-live-");
    const files = tempDir("storefront-gc-live-files-");
    for (let i = 0; i < 3; i++) paths.push(addFile(daemon, files, `live-${i}`, 50_000));
    gcConfig = join(work, "gc.toml");
    writeFileSync(gcConfig, configFor(daemon, work, 'max_store_size = "1K"\n'));
    for (const [i, path] of paths.entries()) {
      const pin = await runCli(["pin", `live-${i}`, path, "--config", gcConfig]);
      expect(pin.code, pin.stderr).toBe(0);
    }
  }, 300_000);

  afterAll(async () => {
    await daemon.stop();
  });

  it("storefront gc leaves the store whole and exits 1, saying why", async () => {
    const before = storeTotals(daemon);
    const dry = await runCli(["gc", "--dry-run", "--config", gcConfig]);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain("would delete 0 paths, 0 NAR bytes");
    expect(dry.stderr).toMatch(/stays over its budget by \d+ bytes: every other path is alive/);
    const run = await runCli(["gc", "--config", gcConfig]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/stays over its budget by \d+ bytes/);
    expect(storeTotals(daemon)).toEqual(before);
    for (const path of paths) expect(existsSync(daemon.store.realPath(path))).toBe(true);
  });

  it("the daemon checks every interval: a warning and a metric, and a path unpinned goes at the next run", async () => {
    // Two workers: the primary keeps the budget, once for all, and /metrics shows it once.
    const server = await startServer(
      work,
      `workers = 2\n${configFor(daemon, work, 'max_store_size = "1K"\ninterval = 1\n')}`,
    );
    try {
      await server.waitForLog(/warn store over its budget and nothing dead left to delete/);
      const metrics = async (): Promise<Map<string, number>> =>
        parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
      const first = await metrics();
      expect(sumOf(first, "storefront_gc_budget_unmet")).toBe(1);
      expect(sumOf(first, "storefront_gc_max_store_size_bytes")).toBe(1024);
      expect(sumOf(first, "storefront_gc_unfreed_paths")).toBe(paths.length);
      expect(sumOf(first, "storefront_gc_deleted_paths_total")).toBe(0);
      expect(storeTotals(daemon).count).toBe(paths.length);

      const unpinned = paths[0] ?? "";
      const unpinnedSize = narSizes(daemon, [unpinned]).get(unpinned);
      const unpin = await runCli(["unpin", "live-0", "--config", gcConfig]);
      expect(unpin.code, unpin.stderr).toBe(0);
      const deleted = await waitForValue("the next run to delete the unpinned path", async () => {
        const series = await metrics();
        return sumOf(series, "storefront_gc_deleted_paths_total") > 0 ? series : undefined;
      });
      expect(sumOf(deleted, "storefront_gc_deleted_paths_total")).toBe(1);
      expect(sumOf(deleted, "storefront_gc_deleted_bytes_total")).toBe(unpinnedSize);
      expect(existsSync(daemon.store.realPath(unpinned))).toBe(false);
      expect(storeTotals(daemon).count).toBe(paths.length - 1);
      // A sample of the store every interval, for the history.
      const state = new StateDatabase(join(work, "state"), { busyTimeoutMs: 5000 });
      try {
        const history = state.history(0);
        expect(history.length).toBeGreaterThan(0);
        expect(history.at(-1)?.pinnedBytes).toBeGreaterThan(0);
      } finally {
        state.close();
      }
    } finally {
      await server.stop();
    }
  });

  it("the daemon checks soon after a push lands, not only every interval", async () => {
    const token = "gc-push-token-0123456789abcdef";
    writeFileSync(join(work, "admin-token"), token, { mode: 0o600 });
    const netrc = join(work, "netrc");
    writeFileSync(netrc, `machine 127.0.0.1 login ci password ${token}\n`);
    const server = await startServer(
      work,
      configFor(
        daemon,
        work,
        'max_store_size = "1K"\ninterval = 3600\n',
        `admin_token_paths = ["${join(work, "admin-token")}"]\n[push]\nenable = true\n`,
      ),
    );
    const source = makeTestStore("storefront-gc-push-");
    try {
      // The check at start: over budget, and only live paths.
      await server.waitForLog(/warn store over its budget and nothing dead left to delete/);
      // A content-addressed path (no signature needed), pushed with Nix's own `nix copy`.
      const file = join(tempDir("storefront-gc-new-"), "new-dead");
      writeFileSync(file, randomBytes(10_000));
      const added = spawnSync("nix-store", ["--store", source.root, "--add", file], {
        encoding: "utf8",
      }).stdout.trim();
      const copied = nixCopyTo(
        source.root,
        `${server.url}?compression=none`,
        netrc,
        [added],
        join(work, "nix-cache"),
      );
      expect(copied.status, copied.output).toBe(0);
      // Deleted (it is dead: nothing pins it), and the store still over budget: the rest is alive.
      await server.waitForLog(/warn store over its budget and nothing dead left.* paths=1 /);
      expect(existsSync(daemon.store.realPath(added))).toBe(false);
      const metrics = parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
      expect(sumOf(metrics, "storefront_gc_deleted_paths_total")).toBe(1);
      expect(sumOf(metrics, "storefront_gc_runs_total")).toBe(2);
    } finally {
      await server.stop();
      source.remove();
    }
  });
});
