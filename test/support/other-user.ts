// Running the checkout's storefront as another user, as a service runs it. That user may be
// unable to reach the checkout itself (a parent directory of mode 0700, as a `mktemp -d` in CI
// makes), so what it runs is copied into a directory of its own that everyone can traverse:
// Node, the sources and the runtime dependencies (those package-lock.json does not mark dev).

import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname;

/** Whether this process can run commands as other users (root with runuser). */
export const canRunAsOtherUser =
  process.getuid?.() === 0 && spawnSync("runuser", ["--help"], { stdio: "ignore" }).status === 0;

export interface Installed {
  /** The directory holding the copy, as /opt/storefront holds an installed one. */
  readonly root: string;
  /** The Node binary that runs the tests, copied. */
  readonly node: string;
  /** src/bin.js of the copy. */
  readonly main: string;
}

/** Copies what `storefront` needs to run into `dir` (made traversable and readable by all). */
export function installForOtherUsers(dir: string): Installed {
  chmodSync(dir, 0o755);
  const node = join(dir, "node_modules/.bin/node");
  cpSync(join(ROOT, "src"), join(dir, "src"), { recursive: true });
  copyFileSync(join(ROOT, "package.json"), join(dir, "package.json"));
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean }>;
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === "" || entry.dev === true) continue;
    cpSync(join(ROOT, key), join(dir, key), { recursive: true, dereference: true });
  }
  mkdirSync(join(dir, "node_modules/.bin"), { recursive: true });
  copyFileSync(process.execPath, node);
  spawnSync("chmod", ["-R", "a+rX", dir]);
  return { root: dir, node, main: join(dir, "src/bin.js") };
}
