// Which installed Debian packages become the benchmark's closure: their sizes, files and the
// dependency graph between them, read from dpkg on the machine the benchmark runs on.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync } from "node:fs";

export interface DebPackage {
  readonly name: string;
  /** dpkg's Installed-Size, in bytes (an estimate; it counts /etc too). */
  readonly installedBytes: number;
  /** Names of the packages it depends on (first alternative; versions dropped). */
  readonly depends: readonly string[];
}

/** A package chosen for the closure, with the files it will hold. */
export interface ChosenPackage extends DebPackage {
  /** Files and symlinks to copy, relative to /, under the directories a build can see. */
  readonly files: readonly string[];
  /** Total size of its regular files. */
  readonly bytes: number;
  /** Dependencies within the closure; cycles are broken, so this is a DAG. */
  readonly references: readonly string[];
}

/** Directories a sandboxed build is given (see closure.ts); files elsewhere are left out. */
export const VISIBLE_ROOTS = ["/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/"] as const;

const MIB = 1024 * 1024;

export function installedPackages(): DebPackage[] {
  const text = execFileSync(
    "dpkg-query",
    ["-W", "-f", "${Package}\t${Installed-Size}\t${Pre-Depends}, ${Depends}\t${Status}\n"],
    { encoding: "utf8", maxBuffer: 64 * MIB },
  );
  const packages: DebPackage[] = [];
  for (const line of text.split("\n")) {
    const [name, size, depends, status] = line.split("\t");
    if (name === undefined || name === "" || status?.endsWith(" installed") !== true) continue;
    packages.push({
      name,
      installedBytes: Number(size ?? "0") * 1024,
      depends: (depends ?? "")
        .split(",")
        .map(
          (alternatives) =>
            alternatives
              .split("|")[0]
              ?.trim()
              .split(/[\s:(]/)[0] ?? "",
        )
        .filter((dependency) => dependency !== "" && dependency !== name),
    });
  }
  return packages;
}

/** A stable pseudo-random order, so that the same machine always picks the same packages. */
function shuffleKey(name: string): string {
  return createHash("sha256").update(name).digest("hex");
}

/**
 * Full run: a few packages of hundreds of MB, then a pseudo-random mix of the rest up to the
 * target size and count. Quick run: `count` small packages.
 */
export function pickPackages(
  packages: readonly DebPackage[],
  mode: "full" | "quick",
): DebPackage[] {
  const withContent = packages.filter((p) => p.installedBytes > 0);
  const shuffled = [...withContent].sort((a, b) =>
    shuffleKey(a.name).localeCompare(shuffleKey(b.name)),
  );
  if (mode === "quick") return pickSmall(shuffled, 30);
  const chosen: DebPackage[] = [];
  let total = 0;
  const bySize = [...withContent].sort((a, b) => b.installedBytes - a.installedBytes);
  for (const p of bySize) {
    if (total >= 600 * MIB) break;
    if (p.installedBytes > 300 * MIB) continue;
    chosen.push(p);
    total += p.installedBytes;
  }
  for (const p of shuffled) {
    if (chosen.length >= 400 && total >= 1100 * MIB) break;
    if (chosen.includes(p) || p.installedBytes > 64 * MIB) continue;
    if (total + p.installedBytes > 1300 * MIB) continue;
    chosen.push(p);
    total += p.installedBytes;
  }
  return chosen;
}

/** `count` small packages, each followed by its small dependencies, so they refer to each other. */
function pickSmall(shuffled: readonly DebPackage[], count: number): DebPackage[] {
  const small = new Map(
    shuffled.filter((p) => p.installedBytes <= 4 * MIB).map((p) => [p.name, p] as const),
  );
  const chosen = new Set<DebPackage>();
  const add = (p: DebPackage): void => {
    if (chosen.size >= count || chosen.has(p)) return;
    chosen.add(p);
    for (const dependency of p.depends) {
      const target = small.get(dependency);
      if (target !== undefined) add(target);
    }
  };
  for (const p of small.values()) add(p);
  return [...chosen];
}

function packageFiles(name: string): { files: string[]; bytes: number } {
  const listing = execFileSync("dpkg-query", ["-L", name], {
    encoding: "utf8",
    maxBuffer: 256 * MIB,
  });
  const files: string[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  for (const path of listing.split("\n")) {
    if (!VISIBLE_ROOTS.some((root) => path.startsWith(root)) || seen.has(path)) continue;
    let stats;
    try {
      stats = lstatSync(path);
    } catch {
      continue; // listed but gone (a diverted or removed file)
    }
    if (!stats.isFile() && !stats.isSymbolicLink()) continue;
    seen.add(path);
    files.push(path.slice(1));
    if (stats.isFile()) bytes += stats.size;
  }
  return { files, bytes };
}

/**
 * Adds files and references. References follow Depends within the chosen set; a dependency that
 * would close a cycle is dropped (Nix store paths cannot refer to each other in a cycle).
 */
export function describePackages(chosen: readonly DebPackage[]): ChosenPackage[] {
  const byName = new Map(chosen.map((p) => [p.name, p]));
  const state = new Map<string, "visiting" | "done">();
  const references = new Map<string, string[]>();
  const order: string[] = [];
  const visit = (p: DebPackage): void => {
    state.set(p.name, "visiting");
    const kept: string[] = [];
    for (const dependency of new Set(p.depends)) {
      const target = byName.get(dependency);
      if (target === undefined || state.get(dependency) === "visiting") continue;
      if (state.get(dependency) === undefined) visit(target);
      kept.push(dependency);
    }
    references.set(p.name, kept);
    state.set(p.name, "done");
    order.push(p.name);
  };
  for (const p of chosen) if (state.get(p.name) === undefined) visit(p);
  // Dependencies first, so the generated Nix file can bind each name after its references.
  return order.map((name) => {
    const p = byName.get(name);
    if (p === undefined) throw new Error(`lost package ${name}`);
    return { ...p, ...packageFiles(name), references: references.get(name) ?? [] };
  });
}
