// The layout of src/ keeps the flow one way: a request comes in (http/), asks the store
// (store/), whose formats are pure (core/); what wires a running daemon (daemon/) and the
// command line (cli/) sit on top. This test reads every source file's import lines (static,
// type-only and dynamic alike: a reader follows all of them) and fails on an import that points
// against the allowed directions below, and on any import cycle between files.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = new URL("../../src/", import.meta.url).pathname;

/**
 * Which rooms each room may import from (besides itself). A room is a folder of src/; the files
 * directly in src/ are `base` (errors, log, clock, version: imported from everywhere, importing
 * only each other), except `main.ts`, the entry, which may import anything.
 */
/** What wires a running storefront may use: every room below it. */
const BELOW_DAEMON = [
  "core",
  "base",
  "config",
  "metrics",
  "process",
  "store",
  "nix-daemon",
  "state",
  "access",
  "uploads",
  "exposure",
  "budget",
  "status",
  "http",
] as const;

const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  /** Pure Nix formats and pages: no I/O, no other room. */
  core: [],
  base: [],
  /** The schema, the files it names, and loading them. */
  config: ["core", "base"],
  /** Signals, systemd, the cluster's processes and their messages. */
  process: ["core", "base", "config"],
  /** The metrics registry and the cluster's aggregation over IPC. */
  metrics: ["core", "base", "config", "process"],
  /** The local store: database, NARs, their disk cache, pins and roots. */
  store: ["core", "base", "config", "metrics"],
  /** A client of the Nix daemon's worker protocol. */
  "nix-daemon": ["core", "base"],
  /** Who may read, push and pin: the tokens, and the one decision made before a route runs. */
  access: ["core", "base", "config", "metrics"],
  /** storefront's own SQLite database: last use, history, pushes, GC runs. */
  state: ["core", "base", "config", "metrics"],
  /** Pushed paths: staged, decoded, checked, handed to the Nix daemon, recorded. */
  uploads: ["core", "base", "config", "metrics", "nix-daemon", "state"],
  /** Which paths are served: the closures of chosen roots, kept current. */
  exposure: ["core", "base", "config", "store"],
  /** The store kept within its budget: dead paths deleted, least recently used first. */
  budget: ["core", "base", "config", "metrics", "store", "nix-daemon", "state"],
  /** The status page and its JSON: what the store, the state and the pins say, rendered. */
  status: ["core", "base", "config", "store", "state"],
  /** The server, the route table and its routes: they ask the store. */
  http: BELOW_DAEMON.filter((room) => room !== "exposure" && room !== "http"),
  /** What wires a running storefront: the app, store tasks, serving, the cluster's roles. */
  daemon: BELOW_DAEMON,
  /** One file per command. */
  cli: [...BELOW_DAEMON, "daemon"],
  main: [...BELOW_DAEMON, "daemon", "cli"],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js)$/.test(entry.name) ? [path] : [];
  });
}

function roomOf(file: string): string {
  const parts = relative(SRC, file).split("/");
  if (parts.length > 1) return parts[0] ?? "";
  return parts[0] === "main.ts" || parts[0]?.endsWith(".js") === true ? "main" : "base";
}

/** The files of src/ that `file` imports, by path. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms),
    ...text.matchAll(/^\s*import\s+"([^"]+)"/gm),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
  ].map((match) => match[1] ?? "");
  return specifiers.filter((s) => s.startsWith(".")).map((s) => resolve(dirname(file), s));
}

/** `from -> to` for each import that points against ALLOWED. */
function upwardImports(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    const from = roomOf(file);
    for (const target of targets) {
      const to = roomOf(target);
      if (to !== from && !(ALLOWED[from] ?? []).includes(to)) {
        upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
  }
  return upward;
}

/** Each import cycle found, as `a -> b -> a`. */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const cycles: string[] = [];
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (file: string): void => {
    const at = onPath.indexOf(file);
    if (at >= 0) {
      cycles.push([...onPath.slice(at), file].map((f) => relative(SRC, f)).join(" -> "));
      return;
    }
    if (done.has(file)) return;
    onPath.push(file);
    for (const target of graph.get(file) ?? []) visit(target);
    onPath.pop();
    done.add(file);
  };
  for (const file of graph.keys()) visit(file);
  return cycles;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe("the layout of src/", () => {
  it("has a direction for every room", () => {
    const rooms = new Set(files.map(roomOf));
    expect([...rooms].filter((room) => !(room in ALLOWED))).toEqual([]);
  });

  it("has no import that points against the allowed directions", () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it("imports only files that exist", () => {
    const missing = [...graph].flatMap(([file, targets]) =>
      targets.filter((t) => !graph.has(t)).map((t) => `${relative(SRC, file)} -> ${t}`),
    );
    expect(missing).toEqual([]);
  });

  it("has no import cycle", () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it("would see an upward import and a cycle", () => {
    const [base32, storePath, config] = ["core/nix/a.ts", "core/nix/b.ts", "config/c.ts"].map(
      (file) => join(SRC, file),
    ) as [string, string, string];
    const planted = new Map([
      [base32, [storePath, config]],
      [storePath, [base32]],
      [config, []],
    ]);
    expect(upwardImports(planted)).toEqual(["core/nix/a.ts -> config/c.ts"]);
    expect(importCycles(planted)).toEqual(["core/nix/a.ts -> core/nix/b.ts -> core/nix/a.ts"]);
  });
});
