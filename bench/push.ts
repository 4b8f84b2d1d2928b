// The push rows of the benchmark: `nix copy --to http://storefront` of the closure into an empty
// store behind a real nix-daemon, against `nix copy --to unix://<the daemon's socket>` of the
// same closure into another empty store (the daemon's own import, the floor of any push), and
// the client's zstd compression alone (`file://` with zstd against `file://` with none). Each
// sample starts every daemon on a fresh empty store. Root only (a daemon on a store of its own).
//
// Run alone: `node bench/push.ts [--quick] [--samples N] [--work DIR]` (the closure is built or
// reused as `npm run bench` does; the figures go to <work>/<mode>/push.json). `npm run bench`
// runs it after its other samples and puts its rows in the goal table.

import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { buildClosure, type Closure } from "./closure.ts";
import { describePackages, installedPackages, pickPackages } from "./packages.ts";
import { sampleMemory, type TreeMemory } from "./rss.ts";
import { startStorefront } from "./servers.ts";
import { summarise, type Summary } from "./stats.ts";

/** The issue's goals: none within 1.3 × the daemon's import, zstd within that plus compression. */
export const PUSH_TIME_GOAL = 1.3;
export const PUSH_RSS_GOAL_BYTES = 128 * 1024 * 1024;

export interface PushResults {
  readonly samples: number;
  readonly paths: number;
  /** Seconds per sample, each into an empty store. */
  readonly daemon: readonly number[];
  readonly none: readonly number[];
  readonly zstd: readonly number[];
  /** `nix copy --to file://...` with none and with zstd: their difference is the compression. */
  readonly fileNone: readonly number[];
  readonly fileZstd: readonly number[];
  /** storefront's process tree at its peak during each push (none, zstd, none, zstd, ...). */
  readonly rss: readonly TreeMemory[];
}

const NIX = ["--extra-experimental-features", "nix-command"];
const TOKEN = "bench-push-token-0123456789abcdef";
const MIB = 1024 * 1024;

function step(message: string): void {
  process.stderr.write(`bench: push: ${message}\n`);
}

/** Removes a directory that may hold a Nix store (Nix makes its paths read-only). */
function removeTree(dir: string): void {
  if (existsSync(dir)) spawnSync("chmod", ["-R", "u+w", dir], { stdio: "ignore" });
  rmSync(dir, { recursive: true, force: true });
}

/** Runs a command to its end; its time in seconds; fails with its output's tail. */
async function timed(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const start = process.hrtime.bigint();
  const child = spawn(command, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  let output = "";
  child.stderr.on("data", (data: Buffer) => {
    output = (output + data.toString()).slice(-8000);
  });
  const [code] = (await once(child, "exit")) as [number | null];
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} failed (${code}):\n${output}`);
  return seconds;
}

interface Daemon {
  readonly root: string;
  readonly socket: string;
  stop(): Promise<void>;
}

/** A real nix-daemon on a fresh empty store under `dir`, listening on its own socket. */
export async function startDaemon(dir: string): Promise<Daemon> {
  removeTree(dir);
  const root = join(dir, "root");
  const socket = join(dir, "socket");
  mkdirSync(root, { recursive: true });
  const child = spawn("nix-daemon", ["--store", root], {
    env: { ...process.env, NIX_DAEMON_SOCKET_PATH: socket },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  child.stderr.on("data", (data: Buffer) => {
    output = (output + data.toString()).slice(-8000);
  });
  const kill = (): void => {
    child.kill("SIGTERM");
  };
  process.once("exit", kill);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nix-daemon exited:\n${output}`);
    if (await accepts(socket)) break;
    if (Date.now() > deadline) throw new Error(`nix-daemon did not listen:\n${output}`);
    await sleep(50);
  }
  return {
    root,
    socket,
    stop: async () => {
      process.off("exit", kill);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        await exited;
      }
      removeTree(dir);
    },
  };
}

function accepts(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const connection = createConnection(socket);
    connection.once("connect", () => {
      connection.destroy();
      resolve(true);
    });
    connection.once("error", () => {
      resolve(false);
    });
  });
}

/** How many paths are valid in the store at `root`, and the sum of their NAR sizes. */
export function storeSize(root: string): { paths: number; narBytes: number } {
  const db = new DatabaseSync(join(root, "nix/var/nix/db/db.sqlite"), {
    readOnly: true,
    timeout: 30_000,
  });
  try {
    const row = db
      .prepare("SELECT count(*) AS paths, coalesce(sum(narSize), 0) AS narBytes FROM ValidPaths")
      .get() as { paths: number; narBytes: number };
    return { paths: row.paths, narBytes: row.narBytes };
  } finally {
    db.close();
  }
}

function checkLanded(root: string, closure: Closure, what: string): void {
  const valid = storeSize(root).paths;
  if (valid !== closure.paths.length) {
    throw new Error(`${what}: ${valid} paths valid, expected ${closure.paths.length}`);
  }
}

/** `nix copy` of the closure from its store to `to`, timed; the narinfo cache kept apart. */
function copy(closure: Closure, to: string, dir: string, extra: readonly string[] = []) {
  const cache = join(dir, "xdg-cache");
  rmSync(cache, { recursive: true, force: true });
  return timed(
    "nix",
    [
      ...NIX,
      "copy",
      "--no-check-sigs",
      "--from",
      closure.root,
      "--to",
      to,
      ...extra,
      ...closure.paths,
    ],
    // Nix caches what a binary cache holds (by URL) under XDG_CACHE_HOME: a port used again
    // by the next sample's empty store must not look full.
    { ...process.env, XDG_CACHE_HOME: cache },
  );
}

/** The daemon's own import: `nix copy --to unix://<socket>` into an empty store. */
async function daemonCopy(closure: Closure, dir: string): Promise<number> {
  const daemon = await startDaemon(join(dir, "daemon"));
  try {
    const seconds = await copy(closure, `unix://${daemon.socket}`, dir);
    checkLanded(daemon.root, closure, "nix copy --to unix://");
    return seconds;
  } finally {
    await daemon.stop();
  }
}

/** `nix copy --to file://...?compression=<c>` into an empty directory. */
async function fileCopy(closure: Closure, dir: string, compression: string): Promise<number> {
  const cache = join(dir, `file-${compression}`);
  rmSync(cache, { recursive: true, force: true });
  try {
    return await copy(closure, `file://${cache}?compression=${compression}`, dir);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

/** storefront with push on and a push token, in front of a nix-daemon on an empty store. */
export interface PushTarget {
  readonly url: string;
  /** storefront's primary process (its tree is measured). */
  readonly pid: number;
  /** The daemon's store root. */
  readonly root: string;
  /** A netrc file with the push token for 127.0.0.1. */
  readonly netrc: string;
  readonly token: string;
  stop(): Promise<void>;
}

export async function startPushTarget(
  dir: string,
  keyFile: string,
  extraConfig: readonly string[] = [],
  nodeFlags: readonly string[] = [],
): Promise<PushTarget> {
  const daemon = await startDaemon(join(dir, "push-daemon"));
  const serverDir = join(dir, "storefront");
  rmSync(serverDir, { recursive: true, force: true });
  mkdirSync(serverDir, { recursive: true });
  const secret = join(serverDir, "token");
  writeFileSync(secret, TOKEN, { mode: 0o600 });
  const netrc = join(serverDir, "netrc");
  writeFileSync(netrc, `machine 127.0.0.1 login bench password ${TOKEN}\n`, { mode: 0o600 });
  try {
    const server = await startStorefront({
      dir: serverDir,
      storeRoot: daemon.root,
      keyFile,
      cacheDirectory: join(serverDir, "cache"),
      nodeFlags,
      logFile: join(dir, "storefront.log"),
      extraConfig: [
        `daemon_socket = ${JSON.stringify(daemon.socket)}`,
        `state_dir = ${JSON.stringify(join(serverDir, "state"))}`,
        ...extraConfig,
        "[push]",
        "enable = true",
        "[[access.tokens]]",
        'name = "bench"',
        `secret_path = ${JSON.stringify(secret)}`,
        'scopes = ["push"]',
      ],
    });
    return {
      url: server.url,
      pid: server.pid,
      root: daemon.root,
      netrc,
      token: TOKEN,
      stop: async () => {
        await server.stop();
        await daemon.stop();
        rmSync(serverDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await daemon.stop();
    throw error;
  }
}

/** A push to storefront (push on, a push token) in front of a daemon on an empty store. */
async function pushCopy(
  closure: Closure,
  dir: string,
  keyFile: string,
  compression: string,
): Promise<{ seconds: number; rss: TreeMemory }> {
  const target = await startPushTarget(dir, keyFile);
  try {
    const memory = sampleMemory(target.pid);
    let seconds: number;
    try {
      seconds = await copy(closure, `${target.url}?compression=${compression}`, dir, [
        "--option",
        "netrc-file",
        target.netrc,
      ]);
    } catch (error) {
      memory.stop();
      throw error;
    }
    const rss = memory.stop();
    checkLanded(target.root, closure, `push with ${compression}`);
    return { seconds, rss };
  } finally {
    await target.stop();
  }
}

/** `samples` samples of every push measurement, each into empty stores, in a rotating order. */
export async function measurePush(
  workDir: string,
  closure: Closure,
  keyFile: string,
  samples: number,
): Promise<PushResults | undefined> {
  if (process.getuid?.() !== 0) {
    step("skipped: a nix-daemon on a store of its own needs root");
    return undefined;
  }
  const dir = join(workDir, "push");
  mkdirSync(dir, { recursive: true });
  const results = {
    daemon: [] as number[],
    none: [] as number[],
    zstd: [] as number[],
    fileNone: [] as number[],
    fileZstd: [] as number[],
    rss: [] as TreeMemory[],
  };
  const runs: [string, () => Promise<void>][] = [
    ["unix://", async () => void results.daemon.push(await daemonCopy(closure, dir))],
    ["file:// none", async () => void results.fileNone.push(await fileCopy(closure, dir, "none"))],
    ["file:// zstd", async () => void results.fileZstd.push(await fileCopy(closure, dir, "zstd"))],
    [
      "storefront none",
      async () => {
        const push = await pushCopy(closure, dir, keyFile, "none");
        results.none.push(push.seconds);
        results.rss.push(push.rss);
      },
    ],
    [
      "storefront zstd",
      async () => {
        const push = await pushCopy(closure, dir, keyFile, "zstd");
        results.zstd.push(push.seconds);
        results.rss.push(push.rss);
      },
    ],
  ];
  for (let sample = 0; sample < samples; sample++) {
    // Each measurement goes first in turn: the page cache and the disk's state move with time.
    const first = sample % runs.length;
    for (const [name, run] of [...runs.slice(first), ...runs.slice(0, first)]) {
      step(`sample ${sample + 1}/${samples}: ${name}`);
      await run();
    }
  }
  return { samples, paths: closure.paths.length, ...results };
}

/** The client's compression in each sample: file:// zstd minus file:// none, never below 0. */
function compressionSeconds(push: PushResults): number[] {
  return push.fileZstd.map((z, i) => Math.max(0, z - (push.fileNone[i] ?? z)));
}

function secondsText(s: Summary): string {
  if (s.samples === 0) return "–";
  const f = (v: number): string => v.toFixed(v < 1 ? 3 : 2);
  return `${f(s.median)} s (${f(s.min)}–${f(s.max)})`;
}

function ratioText(values: readonly number[]): { text: string; median: number } {
  const s = summarise(values.filter((v) => Number.isFinite(v)));
  if (s.samples === 0) return { text: "–", median: NaN };
  return {
    text: `**${s.median.toFixed(2)}** (${s.min.toFixed(2)}–${s.max.toFixed(2)})`,
    median: s.median,
  };
}

function verdict(met: boolean): string {
  return met ? "**met**" : "**not met**";
}

/**
 * The goal table's rows (the columns of report.ts: metric, storefront, the reference, ratio,
 * goal, verdict) and the lines that say how they were measured.
 */
export function pushRows(push: PushResults, narBytes: number): { rows: string[]; notes: string[] } {
  const compression = compressionSeconds(push);
  const noneRatio = ratioText(push.none.map((t, i) => t / (push.daemon[i] ?? NaN)));
  // zstd's budget per sample: 1.3 × the daemon's import plus the client's compression.
  const budgets = push.daemon.map((d, i) => PUSH_TIME_GOAL * d + (compression[i] ?? 0));
  const zstdRatio = ratioText(
    push.zstd.map((t, i) => (t - (compression[i] ?? 0)) / (push.daemon[i] ?? NaN)),
  );
  const zstdMet = summarise(push.zstd).median <= summarise(budgets).median;
  const rss = summarise(push.rss.map((m) => m.rss / MIB));
  const pss = summarise(push.rss.map((m) => m.pss / MIB));
  const processes = Math.max(0, ...push.rss.map((m) => m.processes));
  const speed = (s: Summary): string =>
    s.samples === 0 ? "" : `, ${(narBytes / MIB / s.median).toFixed(0)} MiB/s`;
  const daemon = summarise(push.daemon);
  const goal = PUSH_RSS_GOAL_BYTES / MIB;
  return {
    rows: [
      `| push, none | ${secondsText(summarise(push.none))}${speed(summarise(push.none))} | nix copy --to unix://: ${secondsText(daemon)}${speed(daemon)} | ${noneRatio.text} | <= ${PUSH_TIME_GOAL} | ${verdict(noneRatio.median <= PUSH_TIME_GOAL)} |`,
      `| push, zstd | ${secondsText(summarise(push.zstd))} | budget 1.3 × unix:// + compression: ${secondsText(summarise(budgets))} | ${zstdRatio.text} (less compression) | <= ${PUSH_TIME_GOAL} | ${verdict(zstdMet)} |`,
      `| peak RSS during push, sum of VmRSS | ${rss.samples === 0 ? "–" : `${rss.median.toFixed(0)} MiB (${rss.min.toFixed(0)}–${rss.max.toFixed(0)})`}, ${processes} process(es) | PSS ${pss.samples === 0 ? "–" : `${pss.max.toFixed(0)} MiB`} | highest: ${rss.max.toFixed(0)} MiB | <= ${goal} MiB | ${verdict(rss.max <= goal)} |`,
    ],
    notes: [
      `- Push rows (\`bench/push.ts\`, ${push.samples} sample(s), ${push.paths} paths, each copy into an ` +
        "empty store behind a fresh `nix-daemon`): `nix copy --to http://storefront?compression=...` " +
        "against `nix copy --to unix://<daemon socket>`. The client's zstd compression is " +
        "`nix copy --to file://...?compression=zstd` less the same with `none` " +
        `(${secondsText(summarise(compression))}; file:// none ${secondsText(summarise(push.fileNone))}); ` +
        "the zstd ratio is (push − compression) / unix://. RSS: storefront's process tree every 50 ms " +
        "during both pushes.",
    ],
  };
}

/** The benchmark's signing key in `workDir` (run.ts makes the same), made if missing. */
export function signingKeyIn(workDir: string): string {
  const keyFile = join(workDir, "bench-key.secret");
  if (!existsSync(keyFile)) {
    const made = spawnSync("nix-store", [
      "--generate-binary-cache-key",
      "storefront-bench-1",
      keyFile,
      join(workDir, "bench-key.public"),
    ]);
    if (made.status !== 0) throw new Error(`nix-store --generate-binary-cache-key failed`);
  }
  return keyFile;
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      samples: { type: "string" },
      work: { type: "string" },
    },
    strict: true,
  });
  const mode = flags.quick ? "quick" : "full";
  const samples = Number(flags.samples ?? (flags.quick ? 1 : 3));
  if (!Number.isInteger(samples) || samples < 1) throw new Error("--samples: a whole number >= 1");
  const benchDir = new URL(".", import.meta.url).pathname;
  const workDir = join(resolve(flags.work ?? join(benchDir, "work")), mode);
  mkdirSync(workDir, { recursive: true });
  const packages = describePackages(pickPackages(installedPackages(), mode));
  const closure = buildClosure(workDir, packages);
  const keyFile = signingKeyIn(workDir);
  const push = await measurePush(workDir, closure, keyFile, samples);
  if (push === undefined) process.exit(1);
  writeFileSync(join(workDir, "push.json"), JSON.stringify(push, null, 1));
  const { rows, notes } = pushRows(push, storeSize(closure.root).narBytes);
  process.stdout.write(
    [
      "| metric | storefront | reference | ratio | goal | |",
      "|---|---|---|---|---|---|",
      ...rows,
      "",
      ...notes,
      "",
    ].join("\n"),
  );
}

if (import.meta.main) {
  process.once("SIGINT", () => process.exit(130));
  process.once("SIGTERM", () => process.exit(143));
  await main();
}
