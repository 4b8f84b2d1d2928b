// .ci/install-deps, the README's set-up step for a fresh Debian machine, with apt-get played by a
// stub that records what it was asked: it asks for exactly what is missing, and for nothing when
// all is there. A PATH of chosen commands makes "missing" without touching the machine.

import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasNix } from "../support/nix.ts";
import { tempDir } from "../support/temp.ts";

const SCRIPT = new URL("../../.ci/install-deps", import.meta.url).pathname;
/** What the script runs or looks for. */
const ALL = [
  "id",
  "getent",
  "nix-build",
  "nix-store",
  "sqlite3",
  "nginx",
  "wrk",
  "curl",
  "openssl",
].concat(["python3", "systemd-notify", "chromium"]);

function which(command: string): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

const hasEverything =
  process.getuid?.() === 0 &&
  getentNixbld() &&
  ALL.every((command) => which(command) !== undefined || existsSync(`/usr/sbin/${command}`));

function getentNixbld(): boolean {
  return spawnSync("getent", ["group", "nixbld"], { stdio: "ignore" }).status === 0;
}

/** Runs the script with only `present` on PATH (and apt-get's stub); what apt-get was asked. */
function runWith(present: readonly string[]): { status: number | null; out: string; apt: string } {
  const bin = tempDir("storefront-install-deps-");
  for (const command of present) {
    const path = which(command) ?? `/usr/sbin/${command}`;
    symlinkSync(path, join(bin, command));
  }
  const log = join(bin, "apt-get.log");
  writeFileSync(join(bin, "apt-get"), `#!/bin/sh\necho "$*" >> ${log}\n`);
  chmodSync(join(bin, "apt-get"), 0o755);
  const result = spawnSync("/bin/bash", [SCRIPT], {
    encoding: "utf8",
    env: { PATH: bin },
  });
  return {
    status: result.status,
    out: result.stdout + result.stderr,
    apt: existsSync(log) ? readFileSync(log, "utf8") : "",
  };
}

describe.skipIf(!hasNix || !hasEverything)(".ci/install-deps", () => {
  it("installs nothing when nothing is missing", () => {
    const result = runWith(ALL);
    expect(result.out).not.toContain("installing");
    expect(result.apt).toBe("");
    expect(result.out).toMatch(/^nix-build \(Nix\) /m);
    expect(result.status).toBe(0);
  });

  it("asks apt for what is missing, and only that", () => {
    // nginx may also be found as /usr/sbin/nginx, which no PATH hides.
    const result = runWith(ALL.filter((command) => !["sqlite3", "curl"].includes(command)));
    expect(result.out).toContain("installing: sqlite3 curl\n");
    expect(result.apt).toBe("update -qq\ninstall -y -qq --no-install-recommends sqlite3 curl\n");
  });
});
