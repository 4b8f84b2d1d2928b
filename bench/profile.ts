// Summarises V8 CPU profiles (`node --cpu-prof`) as the functions that took the most time
// themselves, so the report can say what bounds a result without committing the profiles.
// Shares are of the time the processes were busy: idle time (waiting for the socket, the disk
// or the client) is given on its own, per profile, since the cluster's primary is idle always.

import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface HotFunction {
  readonly name: string;
  readonly where: string;
  /** Share of the busy (not idle) time of all processes, 0..1. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly hot: readonly HotFunction[];
  /** Busy share of each process's sampled time, busiest first, 0..1. */
  readonly busy: readonly number[];
}

const ROOT = new URL("..", import.meta.url).pathname;

function place(url: string, line: number): string {
  if (url === "") return "";
  const path = url.startsWith("file://") ? new URL(url).pathname : url;
  const shown = path.startsWith(ROOT) ? relative(ROOT, path) : path;
  return `${shown}:${line + 1}`;
}

/** Self time per function over every profile in `dir`, largest first. */
export function summariseProfiles(dir: string, count: number): ProfileSummary {
  const totals = new Map<string, { name: string; where: string; micros: number }>();
  let busyTotal = 0;
  const busy: number[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    let all = 0;
    let idle = 0;
    profile.samples.forEach((id, i) => {
      const frame = byId.get(id)?.callFrame;
      const micros = profile.timeDeltas[i] ?? 0;
      if (frame === undefined || micros <= 0) return;
      all += micros;
      if (frame.functionName === "(idle)") {
        idle += micros;
        return;
      }
      const where = place(frame.url, frame.lineNumber);
      const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
      const key = `${name} ${where}`;
      const entry = totals.get(key) ?? { name, where, micros: 0 };
      entry.micros += micros;
      totals.set(key, entry);
      busyTotal += micros;
    });
    if (all > 0) busy.push((all - idle) / all);
  }
  return {
    hot: [...totals.values()]
      .sort((a, b) => b.micros - a.micros)
      .slice(0, count)
      .map(({ name, where, micros }) => ({ name, where, share: micros / busyTotal })),
    busy: busy.sort((a, b) => b - a),
  };
}
