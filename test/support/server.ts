// The one way tests start storefront: the real CLI (`src/bin.js serve`) as a process of its own,
// on a config written into a temporary directory, as a user or systemd starts it. Everything
// else here builds on `spawnServer`: `startServer` waits for the port; `serveProcesses` kills
// what a test left running; `serveTestStore` and `servedStore` serve a store that a real Nix
// built. No test starts storefront inside the test process: the tests see what a user sees
// (the log, the exit code, the workers), and a crash cannot take vitest with it.

import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { builtStore, type BuiltStore, type TestStore } from "./nix.ts";
import { tempDir } from "./temp.ts";

const MAIN = new URL("../../src/bin.js", import.meta.url).pathname;

export interface ServeOptions {
  /** Added to the environment, over `CACHE_DIRECTORY=dir`. */
  readonly env?: NodeJS.ProcessEnv;
  /** false: `env` is the whole environment, as systemd gives a service. */
  readonly inheritEnv?: boolean;
  /**
   * The command line to run instead of `storefront serve --config dir/storefront.toml` (which is
   * then not written), e.g. a systemd unit's ExecStart under `setpriv`.
   */
  readonly command?: readonly string[];
  /** Descriptors from 3 on, e.g. a listening socket for socket activation. */
  readonly extraFds?: readonly number[];
  /** Set LISTEN_PID to the server's own PID (as systemd does), through a `sh -c` that execs it. */
  readonly listenPidIsChild?: boolean;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr, waiting for it to appear. */
  waitForLog(pattern: RegExp): Promise<RegExpExecArray>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (SIGTERM unless told) if still running; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Sends SIGKILL if still running: for cleanup after a failed test. */
  kill(): void;
}

/** A server that has said on which TCP port it listens. */
export interface RunningServer extends ServerProcess {
  readonly url: string;
  readonly port: number;
}

/**
 * Writes `toml` to `dir/storefront.toml` and returns the argv of `storefront serve` on it, for
 * whatever starts the process (`spawnServer`, or a held socket that restarts it).
 */
export function serveCommand(dir: string, toml: string, name = "storefront.toml"): string[] {
  const configPath = join(dir, name);
  writeFileSync(configPath, toml);
  return [process.execPath, MAIN, "serve", "--config", configPath];
}

/**
 * Writes `toml` to `dir/storefront.toml` and runs `storefront serve --config` on it, without
 * waiting for anything. The compressed-NAR cache goes to `dir/nars` (through
 * `$CACHE_DIRECTORY`, as under systemd) unless the toml or `env` says otherwise, so that tests
 * never write to /var/cache.
 */
export function spawnServer(dir: string, toml: string, options: ServeOptions = {}): ServerProcess {
  const [node = process.execPath, ...args] = options.command ?? serveCommand(dir, toml);
  const stdio: StdioOptions = ["ignore", "pipe", "pipe", ...(options.extraFds ?? [])];
  const env =
    options.inheritEnv === false
      ? { ...options.env }
      : { ...process.env, CACHE_DIRECTORY: dir, STATE_DIRECTORY: dir, ...options.env };
  // The PID is only known once the process exists: the shell sets it, then becomes storefront.
  const child =
    options.listenPidIsChild === true
      ? spawn("sh", ["-c", 'LISTEN_PID=$$ exec "$0" "$@"', node, ...args], { env, stdio })
      : spawn(node, args, { env, stdio });
  let stderr = "";
  const waiters = new Set<() => void>();
  child.stderr?.on("data", (data: Buffer) => {
    stderr += data.toString();
    for (const waiter of waiters) waiter();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      resolve(code);
      for (const waiter of waiters) waiter();
    });
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    child,
    stderr: () => stderr,
    exited,
    waitForLog: (pattern) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(stderr);
          if (match !== null) {
            waiters.delete(check);
            resolve(match);
          } else if (!running()) {
            waiters.delete(check);
            reject(new Error(`storefront exited before logging ${String(pattern)}: ${stderr}`));
          }
        };
        waiters.add(check);
        check();
      }),
    stop: async (signal = "SIGTERM") => {
      if (running()) child.kill(signal);
      return exited;
    },
    kill: () => {
      if (running()) child.kill("SIGKILL");
    },
  };
}

/** The port in the first "listening on" line. */
export async function listeningPort(server: ServerProcess): Promise<number> {
  const match = await server.waitForLog(/listening on \S*:(\d+)/);
  return Number(match[1]);
}

/** `spawnServer`, resolved once it listens on a TCP port; rejected if it exits first. */
export async function startServer(
  dir: string,
  toml: string,
  options: ServeOptions = {},
): Promise<RunningServer> {
  const server = spawnServer(dir, toml, options);
  const port = await listeningPort(server);
  return { ...server, url: `http://127.0.0.1:${port}`, port };
}

/** Sends `signal` and resolves with the exit code. */
export async function stopWith(
  server: ServerProcess,
  signal: NodeJS.Signals,
): Promise<number | null> {
  return server.stop(signal);
}

export interface ServeProcesses {
  /** A directory for configs and sockets, removed after the file's tests. */
  readonly dir: string;
  /** `spawnServer` in `dir`; the process is killed after the test if it still runs. */
  spawn(toml: string, options?: ServeOptions): ServerProcess;
  /** Runs `cleanup` after the test, e.g. to close a socket it opened. */
  afterTest(cleanup: () => void): void;
}

/**
 * For a describe block whose tests start `storefront serve` processes: none of them outlives
 * its test, even one that fails.
 */
export function serveProcesses(prefix: string): ServeProcesses {
  let dir: string | undefined;
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  const processes: ServeProcesses = {
    get dir() {
      dir ??= tempDir(prefix);
      return dir;
    },
    spawn: (toml, options) => {
      const server = spawnServer(processes.dir, toml, options);
      cleanups.push(() => {
        server.kill();
      });
      return server;
    },
    afterTest: (cleanup) => {
      cleanups.push(cleanup);
    },
  };
  return processes;
}

export interface StoreServer {
  readonly server: RunningServer;
  readonly port: number;
  stop(): Promise<void>;
}

/** `store` served by one worker, so that the test sees the one process's caches and reads. */
export async function serveTestStore(store: TestStore, extraToml = ""): Promise<StoreServer> {
  const dir = tempDir("storefront-config-");
  const toml = ['bind = "127.0.0.1:0"', "workers = 1", store.configLine + extraToml].join("\n");
  const server = await startServer(dir, toml);
  return {
    server,
    port: server.port,
    stop: async () => {
      await server.stop();
    },
  };
}

export interface ServedStore extends BuiltStore {
  readonly server: RunningServer;
}

/**
 * For a describe block: `attributes` of `file` built into a new store and served on a free
 * loopback port, with `toml` added to the config (storefront's default workers unless it sets
 * them), before its tests; server and store go after them.
 */
export function servedStore(file: string, attributes: readonly string[], toml = ""): ServedStore {
  const built = builtStore(file, attributes);
  let server: RunningServer | undefined;
  beforeAll(async () => {
    const dir = tempDir("storefront-served-");
    server = await startServer(dir, `bind = "127.0.0.1:0"\n${built.store.configLine}${toml}`);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get store() {
      return built.store;
    },
    get paths() {
      return built.paths;
    },
    get server() {
      if (server === undefined) throw new Error("the server is started before the tests");
      return server;
    },
  };
}

/** Child processes of `pid` (cluster workers), from ps. */
export async function childPids(pid: number): Promise<number[]> {
  const ps = spawn("ps", ["-o", "pid=", "--ppid", String(pid)]);
  let out = "";
  ps.stdout.on("data", (data: Buffer) => (out += data.toString()));
  await once(ps, "close");
  return out
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map(Number);
}

/**
 * Runs `storefront ARGS` to its end (not a server: a command, or a `serve` expected to refuse
 * to start) with the Node running the tests; returns exit code and output. A `serve` that gets
 * as far as opening the compressed-NAR cache makes it in a temporary `$CACHE_DIRECTORY`
 * (removed with the test file's other temporary directories), never in /var/cache.
 */
export async function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cacheDirectory = tempDir("storefront-cli-cache-");
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: {
      ...process.env,
      CACHE_DIRECTORY: cacheDirectory,
      STATE_DIRECTORY: cacheDirectory,
      ...env,
    },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
  child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

export interface KeyFiles {
  readonly secret: string;
  readonly public: string;
}

/** Makes a key pair NAME with `storefront key generate`, as `dir/secret` and `dir/public`. */
export async function generateKey(dir: string, name: string): Promise<KeyFiles> {
  const files = { secret: join(dir, "secret"), public: join(dir, "public") };
  const made = await runCli([
    "key",
    "generate",
    name,
    "--secret",
    files.secret,
    "--public",
    files.public,
  ]);
  expect(made.code, made.stderr).toBe(0);
  return files;
}
