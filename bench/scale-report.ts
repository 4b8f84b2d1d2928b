// The scale table (bench/scale.ts's results) for RESULTS.md and the terminal: a store of a
// million paths against one of a thousand, with the goals of issue 18.

import type { Machine } from "./machine.ts";
import { summarise, type Summary } from "./stats.ts";

export const SCALE_GOALS = {
  startSeconds: 1,
  idleRssBytes: 100 * 2 ** 20,
  uncachedOverSmall: 1.2,
} as const;

export const TASKS = ["count", "scan", "pins", "exposure", "budget"] as const;
export type Task = (typeof TASKS)[number];

export const TASK_LABELS: Readonly<Record<Task, string>> = {
  count: "store monitor: full count (at start, and after a GC)",
  scan: "store monitor: scan for the last 100 paths registered",
  pins: "store monitor: what pins keep (a pin on the root: every output)",
  exposure: "exposure set of the root's closure, with derivers (every path)",
  budget:
    "budget: its choice of what to delete, every path dead (rows, references among them, order, the paths for half the bytes)",
};

export interface TaskResult {
  readonly seconds: number;
  /** What it found (paths counted, in the set, ...). */
  readonly paths: number;
  readonly rssBefore: number;
  readonly peakRss: number;
  readonly heapGrowth: number;
  /** Stopped after bench/scale.ts's time limit: `seconds` is the limit. */
  readonly timedOut?: boolean;
}

export interface ScaleRun {
  readonly paths: number;
  readonly references: number;
  readonly databaseBytes: number;
  readonly startSeconds: number[];
  /** The longest a narinfo waited in the 2 s after the first answer, per start. */
  readonly firstWaitMs: number[];
  /** One start with a pin on the root, whose closure is every output. */
  readonly pinnedStart?: { readonly seconds: number; readonly firstWaitMs: number };
  readonly idleRss: number[];
  /** Milliseconds of each narinfo asked once, and of the same asked again. */
  readonly uncachedMs: number[];
  /** The median of each start's uncached narinfos: the goal pairs the stores start by start. */
  readonly uncachedRoundMedians?: number[];
  readonly cachedMs: number[];
  readonly tasks: Readonly<Record<Task, TaskResult>>;
}

export interface ScaleResults {
  readonly machine: Machine;
  readonly small: ScaleRun;
  readonly large: ScaleRun;
}

const MIB = 2 ** 20;

function verdict(ok: boolean): string {
  return ok ? "**met**" : "**not met**";
}

function range(s: Summary, digits: number, unit: string): string {
  return `${s.median.toFixed(digits)} ${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

export function renderScale(results: ScaleResults): string[] {
  const { small, large } = results;
  const startL = summarise(large.startSeconds);
  const startS = summarise(small.startSeconds);
  const waitL = summarise(large.firstWaitMs);
  const waitS = summarise(small.firstWaitMs);
  const rssL = summarise(large.idleRss.map((b) => b / MIB));
  const rssS = summarise(small.idleRss.map((b) => b / MIB));
  const uncL = summarise(large.uncachedMs);
  const uncS = summarise(small.uncachedMs);
  const cachedL = summarise(large.cachedMs);
  const cachedS = summarise(small.cachedMs);
  // Start by start (the two stores took turns), when the rounds were kept; else the medians.
  const paired = (large.uncachedRoundMedians ?? []).map(
    (value, i) => value / (small.uncachedRoundMedians?.[i] ?? NaN),
  );
  const pairedSummary = summarise(paired.filter((r) => Number.isFinite(r)));
  const ratio = pairedSummary.samples > 0 ? pairedSummary.median : uncL.median / uncS.median;
  const ratioRange =
    pairedSummary.samples > 1
      ? ` (${pairedSummary.min.toFixed(2)}–${pairedSummary.max.toFixed(2)})`
      : "";
  const lines = [
    "## Scale",
    "",
    `From \`npm run bench:scale\` (bench/scale.ts) on ${results.machine.date}: storefront with its ` +
      `defaults on a store database of ${large.paths.toLocaleString("en")} valid paths ` +
      `(${large.references.toLocaleString("en")} references, ${(large.databaseBytes / MIB).toFixed(0)} MiB) ` +
      `and on one of ${small.paths.toLocaleString("en")} made the same way (bench/synthetic-store.ts: ` +
      "derivations and outputs as Nix registers them, no files). Server figures over " +
      `${large.startSeconds.length} fresh starts (after one untimed start, which fills Node's compile cache); narinfos: ${uncL.samples} distinct ones asked once ` +
      "each (uncached), then the same again (cached), after 200 others; median (min–max). The two " +
      "stores' starts took turns; the uncached ratio is taken start by start.",
    "",
    `| | ${large.paths.toLocaleString("en")} paths | ${small.paths.toLocaleString("en")} paths | goal | |`,
    "|---|---|---|---|---|",
    `| start to the first narinfo | ${range(startL, 2, "s")} | ${range(startS, 2, "s")} | <= ${SCALE_GOALS.startSeconds} s | ${verdict(startL.median <= SCALE_GOALS.startSeconds)} |`,
    `| longest narinfo wait in the 2 s after it | ${range(waitL, 1, "ms")} | ${range(waitS, 1, "ms")} | – | |`,
    ...(large.pinnedStart === undefined || small.pinnedStart === undefined
      ? []
      : [
          `| the same, one start with a pin on the root (its closure: every output); longest wait after | ` +
            `${large.pinnedStart.seconds.toFixed(2)} s; ${large.pinnedStart.firstWaitMs.toFixed(1)} ms | ` +
            `${small.pinnedStart.seconds.toFixed(2)} s; ${small.pinnedStart.firstWaitMs.toFixed(1)} ms | <= ${SCALE_GOALS.startSeconds} s | ` +
            `${verdict(large.pinnedStart.seconds <= SCALE_GOALS.startSeconds)} |`,
        ]),
    `| idle RSS (2 s after the first answer) | ${range(rssL, 0, "MiB")} | ${range(rssS, 0, "MiB")} | <= ${SCALE_GOALS.idleRssBytes / MIB} MiB | ${verdict(rssL.median * MIB <= SCALE_GOALS.idleRssBytes)} |`,
    `| narinfo, uncached | ${range(uncL, 3, "ms")} | ${range(uncS, 3, "ms")} | <= ${SCALE_GOALS.uncachedOverSmall} × small: **${ratio.toFixed(2)}**${ratioRange} | ${verdict(ratio <= SCALE_GOALS.uncachedOverSmall)} |`,
    `| narinfo, cached | ${range(cachedL, 3, "ms")} | ${range(cachedS, 3, "ms")} | – | |`,
  ];
  lines.push(
    "",
    "Whole-store tasks, each in a process of its own (peak RSS: the process's, with Node and the " +
      "code loaded; before: its RSS when the task began):",
    "",
    `| task | ${large.paths.toLocaleString("en")} paths: time, found, RSS before → peak | ${small.paths.toLocaleString("en")} paths | per path (large) |`,
    "|---|---|---|---|",
  );
  for (const task of TASKS) {
    const l = (large.tasks as Partial<Record<Task, TaskResult>>)[task];
    const s = (small.tasks as Partial<Record<Task, TaskResult>>)[task];
    // A results.json from before the task was measured.
    if (l === undefined || s === undefined) continue;
    const cell = (t: TaskResult): string =>
      t.timedOut === true
        ? `**not finished after ${(t.seconds / 60).toFixed(0)} min** (stopped)`
        : `${t.seconds < 1 ? (t.seconds * 1000).toFixed(1) + " ms" : t.seconds.toFixed(2) + " s"}, ` +
          `${t.paths.toLocaleString("en")}, ${(t.rssBefore / MIB).toFixed(0)} → ${(t.peakRss / MIB).toFixed(0)} MiB`;
    const perPath = l.paths >= 1000 ? `${((l.seconds * 1e6) / l.paths).toFixed(2)} µs` : "–";
    lines.push(`| ${TASK_LABELS[task]} | ${cell(l)} | ${cell(s)} | ${perPath} |`);
  }
  lines.push(
    "",
    "budget" in large.tasks
      ? "The budget's row leaves out the Nix daemon's listing of the dead paths (Nix's own work); " +
          "its found column is how many paths it chose."
      : "The budget's choice of what to delete was not measured in this run.",
  );
  return lines;
}
