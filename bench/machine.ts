// The machine a run was made on, for the report: numbers mean little without it.

import { spawnSync } from "node:child_process";
import { availableParallelism, cpus, release, totalmem } from "node:os";
import { NGINX } from "./servers.ts";

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memory: string;
  readonly kernel: string;
  readonly node: string;
  readonly nginx: string;
  readonly nix: string;
  readonly date: string;
}

function versionOf(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8" });
  const text = `${result.stdout}${result.stderr}`.trim().split("\n")[0] ?? "";
  return text === "" ? "unknown" : text;
}

export function describeMachine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `Linux ${release()}`,
    node: process.version,
    nginx: versionOf(NGINX, ["-v"]).replace(/^nginx version: /, ""),
    nix: versionOf("nix-build", ["--version"]),
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  };
}
