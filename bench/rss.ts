// Resident memory of a process and all its descendants (storefront's primary and its workers),
// read from /proc while a measurement runs.

import { readFileSync, readdirSync } from "node:fs";

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback; // the process or thread ended between listing and reading
  }
}

/** `pid` and its descendants, through /proc/<pid>/task/<tid>/children. */
export function processTree(pid: number): number[] {
  const tree: number[] = [];
  const pending = [pid];
  while (pending.length > 0) {
    const current = pending.pop() as number;
    tree.push(current);
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${current}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      const children = readOr(`/proc/${current}/task/${task}/children`, "");
      for (const child of children.split(" ")) if (child.trim() !== "") pending.push(Number(child));
    }
  }
  return tree;
}

export interface TreeMemory {
  /** Sum of VmRSS, in bytes: what the goal is about. Pages shared between the processes (the
   * node binary's code, about 40 MiB) are counted once per process. */
  readonly rss: number;
  /** Sum of PSS (shared pages divided among the processes that map them): the real footprint. */
  readonly pss: number;
  readonly processes: number;
}

function kilobytes(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
  return match === null ? 0 : Number(match[1]) * 1024;
}

export function treeMemory(pid: number): TreeMemory {
  let rss = 0;
  let pss = 0;
  const tree = processTree(pid);
  for (const member of tree) {
    rss += kilobytes(readOr(`/proc/${member}/status`, ""), "VmRSS");
    pss += kilobytes(readOr(`/proc/${member}/smaps_rollup`, ""), "Pss");
  }
  return { rss, pss, processes: tree.length };
}

/** Samples the tree every `intervalMs` until stopped; returns the peak of each figure. */
export function sampleMemory(pid: number, intervalMs = 50): { stop(): TreeMemory } {
  let peak: TreeMemory = { rss: 0, pss: 0, processes: 0 };
  const sample = (): void => {
    const now = treeMemory(pid);
    peak = {
      rss: Math.max(peak.rss, now.rss),
      pss: Math.max(peak.pss, now.pss),
      processes: Math.max(peak.processes, now.processes),
    };
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
