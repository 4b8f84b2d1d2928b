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

/** Sum of VmRSS over the tree, in bytes. */
export function treeRss(pid: number): number {
  let total = 0;
  for (const member of processTree(pid)) {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readOr(`/proc/${member}/status`, ""));
    if (match !== null) total += Number(match[1]) * 1024;
  }
  return total;
}

/** Samples the tree every `intervalMs` until stopped: peak RSS (bytes) and most processes. */
export function sampleRss(
  pid: number,
  intervalMs = 50,
): { stop(): { peak: number; processes: number } } {
  let peak = 0;
  let processes = 0;
  const sample = (): void => {
    peak = Math.max(peak, treeRss(pid));
    processes = Math.max(processes, processTree(pid).length);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return { peak, processes };
    },
  };
}
