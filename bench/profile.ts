// Summarises V8 CPU profiles (`node --cpu-prof`) as the functions that took the most time
// themselves, so the report can say what bounds a result without committing the profiles.

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
  /** Share of all sampled time, idle included, 0..1. */
  readonly share: number;
}

const ROOT = new URL("..", import.meta.url).pathname;

function place(url: string, line: number): string {
  if (url === "") return "";
  const path = url.startsWith("file://") ? new URL(url).pathname : url;
  const shown = path.startsWith(ROOT) ? relative(ROOT, path) : path;
  return `${shown}:${line + 1}`;
}

/** Self time per function over every profile in `dir`, largest first. */
export function hotFunctions(dir: string, count: number): HotFunction[] {
  const totals = new Map<string, { name: string; where: string; micros: number }>();
  let all = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    profile.samples.forEach((id, i) => {
      const frame = byId.get(id)?.callFrame;
      const micros = profile.timeDeltas[i] ?? 0;
      if (frame === undefined || micros <= 0) return;
      const where = place(frame.url, frame.lineNumber);
      const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
      const key = `${name} ${where}`;
      const entry = totals.get(key) ?? { name, where, micros: 0 };
      entry.micros += micros;
      totals.set(key, entry);
      all += micros;
    });
  }
  return [...totals.values()]
    .sort((a, b) => b.micros - a.micros)
    .slice(0, count)
    .map(({ name, where, micros }) => ({ name, where, share: micros / all }));
}
