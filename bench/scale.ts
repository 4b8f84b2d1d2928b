// `npm run bench:scale`: storefront on a store of a million valid paths against one of a
// thousand, both made by bench/synthetic-store.ts (rows as Nix writes them; no files). For each:
// the time from start to the first answer, idle RSS, uncached narinfos (each asked once, the
// median) and cached ones, and every whole-store task, each in a process of its own so that its
// peak RSS is its own: the store monitor's full count (at start, and after a garbage
// collection), its scan for new paths, the recount of what pins keep (a pin on the root, whose
// closure is every output), and the exposure set of the root's closure with its derivers (every
// path). Writes <work>/scale/results.json, which `npm run bench` puts in RESULTS.md.
//
//   npm run bench:scale                        1,000,000 and 1,000 paths (the first run makes
//                                              the million-path database: a few minutes)
//   npm run bench:scale -- --paths 100000 --starts 5

import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Registry } from "prom-client";
import { systemClock } from "../src/clock.ts";
import { deletionOrder, takeUntil } from "../src/budget/plan.ts";
import { Exposure } from "../src/exposure/exposure.ts";
import { createLogger } from "../src/log.ts";
import { createStoreMetrics } from "../src/metrics/store-metrics.ts";
import { StoreIndex } from "../src/store/db/store-index.ts";
import { GcRoots } from "../src/store/roots/gc-roots.ts";
import { StoreMonitor } from "../src/store/roots/store-monitor.ts";
import { treeMemory } from "./rss.ts";
import { freePort } from "./servers.ts";
import {
  TASKS,
  TASK_LABELS,
  renderScale,
  type ScaleResults,
  type ScaleRun,
  type Task,
  type TaskResult,
} from "./scale-report.ts";
import { summarise } from "./stats.ts";
import { STORE_DIR, makeSyntheticStore } from "./synthetic-store.ts";
import { WireConnection } from "./wire.ts";
import { describeMachine } from "./machine.ts";

const BENCH_DIR = dirname(new URL(import.meta.url).pathname);
const STOREFRONT_MAIN = new URL("../src/bin.js", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
/** Bump when synthetic-store.ts makes different rows: databases made before are made again. */
const STORE_VERSION = 1;

const { values: flags } = parseArgs({
  options: {
    paths: { type: "string", default: "1000000" },
    small: { type: "string", default: "1000" },
    starts: { type: "string", default: "3" },
    narinfos: { type: "string", default: "600" },
    work: { type: "string" },
    task: { type: "string" },
    db: { type: "string" },
    root: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});

function positive(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 2) {
    throw new Error(`--${name} must be an integer of at least 2`);
  }
  return value;
}

function step(message: string): void {
  process.stderr.write(`bench:scale: ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// One whole-store task, in a child process (`--task`): prints its TaskResult as JSON.

/** A memory figure of this process from /proc/self/status, in bytes. */
function statusBytes(field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(
    readFileSync("/proc/self/status", "utf8"),
  );
  return match === null ? NaN : Number(match[1]) * 1024;
}

async function runTask(task: Task, dbPath: string, root: string, dir: string): Promise<void> {
  const log = createLogger(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let work: () => number | Promise<number>;
  let close: () => void;
  let cleanUp = (): void => undefined;
  if (task === "budget") {
    // What the Nix daemon lists as dead (here: every path, the worst case), read untimed; then
    // the budget's own part of a run, as budget/collect.ts does it: the rows, the references
    // among them, the order, and the paths that cover the excess (half the store's bytes).
    const index = new StoreIndex(dbPath);
    const reader = new DatabaseSync(dbPath, { readOnly: true });
    const dead = (reader.prepare("SELECT path FROM ValidPaths").all() as { path: string }[]).map(
      (row) => row.path,
    );
    reader.close();
    work = () => {
      const rows = index.pathRows(dead);
      const ordered = deletionOrder(
        rows.map((row) => ({ ...row, lastUsed: undefined })),
        index.referencesAmong(rows.map((row) => row.id)),
      );
      const excess = ordered.reduce((sum, path) => sum + path.narSize, 0) / 2;
      return takeUntil(ordered, excess).length;
    };
    close = () => {
      index.close();
    };
  } else if (task === "exposure") {
    const roots = join(dir, "roots");
    mkdirSync(roots);
    symlinkSync(root, join(roots, "system"));
    const exposure = new Exposure({
      entries: [roots],
      includeDerivers: true,
      dbPath,
      dirs: { virtual: STORE_DIR, real: STORE_DIR },
      pinnedPaths: () => [],
      log,
      onShrink: () => undefined,
    });
    work = () => exposure.totals().paths;
    close = () => {
      exposure.close();
    };
  } else {
    const index = new StoreIndex(dbPath);
    const roots = new GcRoots(join(dir, "gcroots"), systemClock);
    roots.ensureDir();
    if (task === "pins") roots.pin("system", root, undefined);
    const metrics = createStoreMetrics(new Registry());
    if (task === "scan") {
      // The monitor as it runs (started: every path counted), then 100 paths registered.
      const monitor = new StoreMonitor({
        index,
        roots,
        metrics,
        log,
        storeDir: STORE_DIR,
        pinNewPathsForDays: undefined,
      });
      const writer = new DatabaseSync(dbPath);
      const maxId = index.totals().maxId;
      const insert = writer.prepare(
        "INSERT INTO ValidPaths (path, hash, registrationTime, narSize) VALUES (?, ?, 0, 5000)",
      );
      for (let i = 0; i < 100; i++) {
        const hash = String(i).padStart(32, "0");
        insert.run(`${STORE_DIR}/${hash}-scan-${i}`, `sha256:${"0".repeat(64)}`);
      }
      work = async () => {
        monitor.scan();
        return (await metrics.newPathsLastScan.get()).values[0]?.value ?? 0;
      };
      cleanUp = () => {
        // The database is reused by the next run: the new rows go again.
        writer.prepare("DELETE FROM ValidPaths WHERE id > ?").run(maxId);
        writer.close();
      };
    } else if (task === "count") {
      work = () => index.totals().count;
    } else {
      const monitor = (): StoreMonitor =>
        new StoreMonitor({
          index,
          roots,
          metrics,
          log,
          storeDir: STORE_DIR,
          pinNewPathsForDays: undefined,
        });
      // The constructor counts every path, then what the pins keep: the second is timed alone
      // by rootsChanged() on a started monitor.
      const started = monitor();
      work = async () => {
        started.rootsChanged();
        return (await metrics.pinnedPaths.get()).values[0]?.value ?? 0;
      };
    }
    close = () => {
      index.close();
    };
  }
  global.gc?.();
  const rssBefore = statusBytes("VmRSS");
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  const paths = await work();
  const seconds = (performance.now() - start) / 1000;
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  // VmHWM, not getrusage's maxRSS: Linux keeps the latter across exec, so a child would report
  // the peak of the process that forked it.
  const peakRss = statusBytes("VmHWM");
  close();
  cleanUp();
  const result: TaskResult = { seconds, paths, rssBefore, peakRss, heapGrowth };
  process.stdout.write(JSON.stringify(result) + "\n");
}

/** A task that has not finished after this long is reported as such, and the run goes on. */
const TASK_TIMEOUT_MS = 10 * 60_000;

function taskInChild(task: Task, dbPath: string, root: string, dir: string): TaskResult {
  let output: string;
  try {
    output = execFileSync(
      process.execPath,
      [
        "--expose-gc",
        SELF,
        "--task",
        task,
        "--db",
        dbPath,
        "--root",
        root,
        "--work",
        join(dir, `task-${task}`),
      ],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: TASK_TIMEOUT_MS,
        killSignal: "SIGKILL",
      },
    );
  } catch (error) {
    if ((error as { signal?: unknown }).signal !== "SIGKILL") throw error;
    const minutes = TASK_TIMEOUT_MS / 60_000;
    step(`${task}: not finished after ${minutes} minutes, stopped`);
    return {
      seconds: TASK_TIMEOUT_MS / 1000,
      paths: 0,
      rssBefore: 0,
      peakRss: 0,
      heapGrowth: 0,
      timedOut: true,
    };
  }
  return JSON.parse(output.trim().split("\n").at(-1) ?? "") as TaskResult;
}

// ---------------------------------------------------------------------------------------------
// The store, and storefront serving it.

interface Store {
  readonly dir: string;
  readonly dbPath: string;
  readonly root: string;
  readonly paths: number;
  readonly references: number;
  /** Hash parts of every valid path, in a stable shuffled order. */
  readonly hashes: readonly string[];
}

/** The database of `paths` paths under `dir` (made once, then reused), laid out as a store. */
function storeOf(dir: string, paths: number): Store {
  const dbPath = join(dir, "nix/var/nix/db/db.sqlite");
  const marker = join(dir, "store.json");
  mkdirSync(join(dir, "nix/store"), { recursive: true });
  mkdirSync(dirname(dbPath), { recursive: true });
  let made: { version: number; paths: number; references: number; root: string } | undefined;
  try {
    made = JSON.parse(readFileSync(marker, "utf8")) as typeof made;
  } catch {
    made = undefined;
  }
  if (made?.version !== STORE_VERSION || made.paths !== paths || !existsSync(dbPath)) {
    step(`making a store database of ${paths} paths in ${dbPath}`);
    const start = performance.now();
    const store = makeSyntheticStore(dbPath, paths);
    made = { version: STORE_VERSION, paths, references: store.references, root: store.root };
    writeFileSync(marker, JSON.stringify(made));
    step(`made in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  }
  const db = new DatabaseSync(dbPath, { readOnly: true });
  const rows = db.prepare("SELECT path FROM ValidPaths ORDER BY id").all() as { path: string }[];
  db.close();
  const all = rows.map((row) => row.path.slice(STORE_DIR.length + 1, STORE_DIR.length + 33));
  // A stable spread over the whole store, old paths and new, in no order of the index.
  const stride = 7919;
  const hashes = all.map((_, i) => all[(i * stride) % all.length] ?? "");
  return { dir, dbPath, root: made.root, paths, references: made.references, hashes };
}

function statusOf(url: string): Promise<number> {
  return new Promise((done) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on("error", () => {
      done(0);
    });
    req.end();
  });
}

interface Served {
  readonly startSeconds: number;
  readonly firstWaitMs: number;
  readonly idleRss: number;
  readonly uncachedMs: number[];
  readonly cachedMs: number[];
}

/** One fresh start of storefront on `store`: what it takes to answer, hold and look up. */
async function serveOnce(
  store: Store,
  keyFile: string,
  round: number,
  narinfos: number,
): Promise<Served> {
  const port = await freePort();
  const config = join(store.dir, "storefront.toml");
  writeFileSync(
    config,
    [
      "# Generated by bench/scale.ts: defaults, plus the store and one key.",
      `bind = "127.0.0.1:${port}"`,
      `real_nix_store = ${JSON.stringify(join(store.dir, "nix/store"))}`,
      `sign_key_paths = [${JSON.stringify(keyFile)}]`,
      "",
    ].join("\n"),
  );
  const cacheDir = join(store.dir, "cache");
  const stateDir = join(store.dir, "state");
  mkdirSync(cacheDir, { recursive: true });
  mkdirSync(stateDir, { recursive: true });
  // Each start asks for its own narinfos: the first answer's, the warm-up's, the timed ones.
  const take = (count: number, from: number): string[] =>
    Array.from({ length: count }, (_, i) => store.hashes[(from + i) % store.hashes.length] ?? "");
  const offset = round * (narinfos + 201);
  const [firstHash] = take(1, offset);
  const warm = take(200, offset + 1);
  const timed = take(narinfos, offset + 201);
  const base = `http://127.0.0.1:${port}`;
  const start = performance.now();
  const child = spawn(process.execPath, [STOREFRONT_MAIN, "serve", "--config", config], {
    env: { ...process.env, CACHE_DIRECTORY: cacheDir, STATE_DIRECTORY: stateDir },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  child.stderr.on("data", (data: Buffer) => {
    output = (output + data.toString()).slice(-10_000);
  });
  const kill = (): void => {
    child.kill("SIGTERM");
  };
  process.once("exit", kill);
  try {
    let startSeconds = NaN;
    while (performance.now() - start < 60_000) {
      if (child.exitCode !== null) throw new Error(`storefront exited:\n${output}`);
      if ((await statusOf(`${base}/${firstHash}.narinfo`)) === 200) {
        startSeconds = (performance.now() - start) / 1000;
        break;
      }
      await sleep(5);
    }
    if (!Number.isFinite(startSeconds)) throw new Error(`no narinfo after 60 s:\n${output}`);
    const connection = new WireConnection(base);
    // Whatever a start leaves to do after the first answer makes the next ones wait: the first
    // narinfo again and again for 2 s (the same one: the others must stay uncached), the
    // longest wait kept.
    let firstWaitMs = 0;
    while (performance.now() - start < startSeconds * 1000 + 2000) {
      const t = performance.now();
      await connection.get(`/${firstHash}.narinfo`);
      firstWaitMs = Math.max(firstWaitMs, performance.now() - t);
    }
    const idleRss = treeMemory(child.pid ?? 0).rss;
    const time = async (hashes: readonly string[]): Promise<number[]> => {
      const times: number[] = [];
      for (const hash of hashes) {
        const t = performance.now();
        const response = await connection.get(`/${hash}.narinfo`);
        times.push(performance.now() - t);
        if (response.status !== 200) throw new Error(`${hash}.narinfo: HTTP ${response.status}`);
      }
      return times;
    };
    try {
      await time(warm);
      const uncachedMs = await time(timed);
      const cachedMs = await time(timed);
      return { startSeconds, firstWaitMs, idleRss, uncachedMs, cachedMs };
    } finally {
      connection.close();
    }
  } finally {
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    await exited;
    process.off("exit", kill);
  }
}

/** A store's server figures over its starts, and its whole-store tasks. */
function measureStore(store: Store, served: readonly Served[], pinned: Served): ScaleRun {
  const tasks = {} as Record<Task, TaskResult>;
  for (const task of TASKS) {
    step(`${store.paths} paths: ${TASK_LABELS[task]}`);
    tasks[task] = taskInChild(task, store.dbPath, store.root, store.dir);
  }
  const median = (values: readonly number[]): number => summarise(values).median;
  return {
    paths: store.paths,
    references: store.references,
    databaseBytes: Number(
      execFileSync("du", ["-sb", store.dbPath], { encoding: "utf8" }).split("\t")[0],
    ),
    startSeconds: served.map((s) => s.startSeconds),
    firstWaitMs: served.map((s) => s.firstWaitMs),
    pinnedStart: { seconds: pinned.startSeconds, firstWaitMs: pinned.firstWaitMs },
    idleRss: served.map((s) => s.idleRss),
    uncachedMs: served.flatMap((s) => s.uncachedMs),
    uncachedRoundMedians: served.map((s) => median(s.uncachedMs)),
    cachedMs: served.flatMap((s) => s.cachedMs),
    tasks,
  };
}

/**
 * Both stores, their starts taking turns (small, large, small, ...) so that a busy minute of
 * the machine weighs on both: the uncached narinfo goal compares them round by round.
 */
async function measure(
  small: Store,
  large: Store,
  keyFile: string,
): Promise<{ small: ScaleRun; large: ScaleRun }> {
  const starts = positive("starts", flags.starts);
  const narinfos = Math.min(positive("narinfos", flags.narinfos), small.paths - 201);
  const served = new Map<Store, Served[]>([
    [small, []],
    [large, []],
  ]);
  const pinned = new Map<Store, Served>();
  for (const store of [small, large]) {
    // One start untimed: Node's compile cache (in CACHE_DIRECTORY) is filled, as on a server
    // that has started before.
    step(`${store.paths} paths: a first start, untimed`);
    await serveOnce(store, keyFile, starts, narinfos);
  }
  for (let round = 0; round < starts; round++) {
    for (const store of [small, large]) {
      step(`${store.paths} paths: start ${round + 1}/${starts}`);
      served.get(store)?.push(await serveOnce(store, keyFile, round, narinfos));
    }
  }
  for (const store of [small, large]) {
    // A start with a pin on the root (as a pinned system, or pin_new_paths, leaves): the store
    // monitor counts what pins keep before the first answer.
    step(`${store.paths} paths: a start with a pin on the root`);
    const gcroots = join(store.dir, "nix/var/nix/gcroots/storefront");
    new GcRoots(gcroots, systemClock).pin("system", store.root, undefined);
    try {
      pinned.set(store, await serveOnce(store, keyFile, 0, narinfos));
    } finally {
      rmSync(gcroots, { recursive: true, force: true });
    }
  }
  const run = (store: Store): ScaleRun => {
    const pin = pinned.get(store);
    if (pin === undefined) throw new Error("no pinned start");
    return measureStore(store, served.get(store) ?? [], pin);
  };
  return { small: run(small), large: run(large) };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (flags.help) {
    process.stdout.write(
      "Usage: npm run bench:scale -- [--paths N] [--small N] [--starts N] [--narinfos N] [--work DIR]\n",
    );
    return;
  }
  const workRoot = resolve(flags.work ?? join(BENCH_DIR, "work"));
  if (flags.task !== undefined) {
    if (!(TASKS as readonly string[]).includes(flags.task)) throw new Error(`unknown --task`);
    await runTask(flags.task as Task, flags.db ?? "", flags.root ?? "", workRoot);
    return;
  }
  const workDir = join(workRoot, "scale");
  mkdirSync(workDir, { recursive: true });
  const keyFile = join(workDir, "key.secret");
  if (!existsSync(keyFile)) {
    execFileSync("nix-store", [
      "--generate-binary-cache-key",
      "storefront-scale-1",
      keyFile,
      join(workDir, "key.public"),
    ]);
  }
  const large = positive("paths", flags.paths);
  const small = positive("small", flags.small);
  const smallStore = storeOf(join(workDir, `store-${small}`), small);
  const largeStore = storeOf(join(workDir, `store-${large}`), large);
  const results: ScaleResults = {
    machine: describeMachine(),
    ...(await measure(smallStore, largeStore, keyFile)),
  };
  writeFileSync(join(workDir, "results.json"), JSON.stringify(results, null, 1));
  process.stdout.write(renderScale(results).join("\n") + "\n");
  step(`results: ${join(workDir, "results.json")} (npm run bench puts them in RESULTS.md)`);
}

await main();
