// Starting the real storefront CLI, as a user would, on a free port.

import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { tempDir } from "./temp.ts";

const MAIN = new URL("../../src/bin.js", import.meta.url).pathname;

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  log(): string;
  stop(): Promise<number | null>;
}

/**
 * Runs `storefront ARGS` with the Node running the tests; returns exit code and output. A
 * `serve` that gets as far as opening the compressed-NAR cache makes it in a temporary
 * `$CACHE_DIRECTORY` (removed with the test file's other temporary directories), never in
 * /var/cache.
 */
export async function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cacheDirectory = tempDir("storefront-cli-cache-");
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, CACHE_DIRECTORY: cacheDirectory, ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
  child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

/**
 * Writes `toml` to `dir/storefront.toml` and starts `storefront serve` with it. The compressed
 * NAR cache goes to `dir/nars` (through `$CACHE_DIRECTORY`, as under systemd) unless the toml
 * or `env` says otherwise, so that tests never write to /var/cache.
 */
export async function startServer(
  dir: string,
  toml: string,
  env: NodeJS.ProcessEnv = {},
): Promise<RunningServer> {
  const configPath = join(dir, "storefront.toml");
  writeFileSync(configPath, toml);
  const child = spawn(process.execPath, [MAIN, "serve", "--config", configPath], {
    env: { ...process.env, CACHE_DIRECTORY: dir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on("data", (data: Buffer) => {
      stderr += data.toString();
      const match = /listening on \S*:(\d+)/.exec(stderr);
      if (match !== null) resolve(Number(match[1]));
    });
    child.once("exit", (code) => {
      reject(new Error(`storefront exited with ${String(code)}: ${stderr}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    process: child,
    log: () => stderr,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      return code;
    },
  };
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
