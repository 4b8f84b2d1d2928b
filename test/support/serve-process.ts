// `storefront serve` as its own process, for tests of how it listens and stops: any listen
// address, extra descriptors (as systemd passes them) and signals.

import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach } from "vitest";
import { tempDir } from "./temp.ts";

const MAIN = new URL("../../src/bin.js", import.meta.url).pathname;

export interface ServeProcess {
  readonly child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr, waiting for it to appear. */
  waitForLog(pattern: RegExp): Promise<RegExpExecArray>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Sends SIGKILL if still running: for cleanup after a failed test. */
  kill(): void;
}

export interface ServeOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Descriptors from 3 on, e.g. a listening socket for socket activation. */
  readonly extraFds?: readonly number[];
  /** Set LISTEN_PID to the server's own PID (as systemd does), through a `sh -c` that execs it. */
  readonly listenPidIsChild?: boolean;
}

/**
 * Writes `toml` to `dir/storefront.toml` and runs `storefront serve --config` on it. The
 * compressed-NAR cache goes to `dir/nars` (through `$CACHE_DIRECTORY`), never /var/cache.
 */
export function spawnServe(dir: string, toml: string, options: ServeOptions = {}): ServeProcess {
  const configPath = join(dir, "storefront.toml");
  writeFileSync(configPath, toml);
  const args = [MAIN, "serve", "--config", configPath];
  const stdio: StdioOptions = ["ignore", "pipe", "pipe", ...(options.extraFds ?? [])];
  const env = { ...process.env, CACHE_DIRECTORY: dir, ...options.env };
  // The PID is only known once the process exists: the shell sets it, then becomes storefront.
  const child =
    options.listenPidIsChild === true
      ? spawn("sh", ["-c", 'LISTEN_PID=$$ exec "$0" "$@"', process.execPath, ...args], {
          env,
          stdio,
        })
      : spawn(process.execPath, args, { env, stdio });
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
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            reject(new Error(`storefront exited before logging ${String(pattern)}: ${stderr}`));
          }
        };
        waiters.add(check);
        check();
      }),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

export interface ServeProcesses {
  /** A directory for configs and sockets, removed after the file's tests. */
  readonly dir: string;
  /** `spawnServe` in `dir`; the process is killed after the test if it still runs. */
  spawn(toml: string, options?: ServeOptions): ServeProcess;
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
      const server = spawnServe(processes.dir, toml, options);
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

/** The port in the first "listening on" line. */
export async function listeningPort(server: ServeProcess): Promise<number> {
  const match = await server.waitForLog(/listening on \S*:(\d+)/);
  return Number(match[1]);
}

/** Sends `signal` and resolves with the exit code. */
export async function stopWith(
  server: ServeProcess,
  signal: NodeJS.Signals,
): Promise<number | null> {
  server.child.kill(signal);
  return server.exited;
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
