// The report: RESULTS.md (machine, closure, the goal table with medians, spreads and ratios,
// the profile summary) and the rows of the chart. Ratios are taken per sample (the two servers
// were measured back to back), then summarised.

import { existsSync, readFileSync } from "node:fs";
import type { ChartRow } from "./chart.ts";
import type { Machine } from "./machine.ts";
import {
  FLOOR_METRICS,
  RSS_GOAL_BYTES,
  TIMED_METRICS,
  ZSTD_FIRST_OVER_PLAIN_GOAL,
} from "./metrics.ts";
import type { FloorMetric, MetricId } from "./metrics.ts";
import type { ProfileSummary } from "./profile.ts";
import { pushRows, type PushResults } from "./push.ts";
import { renderScale, type ScaleResults } from "./scale-report.ts";
import type { TreeMemory } from "./rss.ts";
import { summarise, type Summary } from "./stats.ts";

export interface Results {
  readonly machine: Machine;
  readonly mode: "full" | "quick";
  readonly samples: number;
  /** storefront's `workers` setting: "default" unless --workers was given. */
  readonly workers: number | "default";
  readonly closure: {
    readonly paths: number;
    readonly files: number;
    readonly references: number;
    readonly narBytes: number;
    readonly largestNar: number;
    readonly zstdCacheBytes: number;
  };
  /** Seconds per sample (narinfo-c25: one pass over every narinfo at wrk's measured rate). */
  readonly times: Readonly<Record<MetricId, { storefront: number[]; nginx: number[] }>>;
  /** wrk's requests per second at 25 connections, per sample. */
  readonly narInfoRates?: { readonly storefront: number[]; readonly nginx: number[] };
  /** The file system of storefront's NAR cache (the first downloads write there). */
  readonly narCacheFilesystem?: string;
  /** The Node floor's seconds per sample, and storefront's NAR serialiser alone (seconds). */
  readonly floor: {
    readonly times: Readonly<Record<FloorMetric, number[]>>;
    readonly generation: readonly number[];
  };
  /** storefront's process tree: after start, and the peak of each NAR c16 sample. */
  readonly memory: { readonly idle: TreeMemory; readonly peaks: readonly TreeMemory[] };
  readonly zstd: {
    /** Content-Encoding of storefront's answers to Accept-Encoding: zstd (repeat pass). */
    readonly encodings: Readonly<Record<string, number>>;
    readonly storefrontFirstBytes: number;
    readonly storefrontRepeatBytes: number;
    readonly nginxBytes: number;
    readonly narCacheBytes: number;
  };
  /** Seconds of each verified warm-up pass. */
  readonly warmup: Readonly<Record<string, number>>;
  readonly profile: readonly { metric: string; summary: ProfileSummary }[] | undefined;
  /** bench/push.ts; undefined when not run (not root). */
  readonly push?: PushResults | undefined;
}

const MIB = 1024 * 1024;
const NOTES = new URL("notes.md", import.meta.url).pathname;

/** Ratios of two series measured in the same samples, summarised. */
function pairedRatios(top: readonly number[], bottom: readonly number[]): Summary {
  const pairs = top.map((value, i) => value / (bottom[i] ?? NaN));
  return summarise(pairs.filter((r) => Number.isFinite(r)));
}

function ratios(times: { storefront: number[]; nginx: number[] }): Summary {
  return pairedRatios(times.storefront, times.nginx);
}

const NO_TIMES = { storefront: [], nginx: [] };

/** A metric's samples; none for a metric that an older results.json did not have. */
function timesOf(results: Results, id: MetricId): { storefront: number[]; nginx: number[] } {
  return (results.times as Partial<Results["times"]>)[id] ?? NO_TIMES;
}

/** storefront's zstd first download over its own plain first download, per sample. */
function zstdOverPlain(results: Results): Summary {
  return pairedRatios(
    timesOf(results, "zstd-first").storefront,
    timesOf(results, "nar-c1-first").storefront,
  );
}

const ZSTD_OVER_PLAIN_LABEL = "zstd first / plain first";

function ratioText(r: Summary): string {
  return r.samples === 0
    ? "–"
    : `**${r.median.toFixed(2)}** (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
}

function seconds(summary: Summary): string {
  if (summary.samples === 0) return "–";
  const f = (v: number): string => v.toFixed(v < 1 ? 3 : 2);
  return `${f(summary.median)} s (${f(summary.min)}–${f(summary.max)})`;
}

function throughput(bytes: number, summary: Summary): string {
  return summary.samples === 0 ? "" : `, ${(bytes / MIB / summary.median).toFixed(0)} MiB/s`;
}

export function chartRows(results: Results): { ratios: ChartRow[]; memory: ChartRow[] } {
  const row = (label: string, values: readonly number[]): ChartRow => {
    const summary = summarise(values.map((bytes) => bytes / MIB));
    return { label, ...summary, goal: RSS_GOAL_BYTES / MIB };
  };
  return {
    ratios: [
      ...TIMED_METRICS.map((metric) => {
        const r = ratios(timesOf(results, metric.id));
        return { label: metric.label, median: r.median, min: r.min, max: r.max, goal: metric.goal };
      }),
      { label: ZSTD_OVER_PLAIN_LABEL, ...zstdOverPlain(results), goal: ZSTD_FIRST_OVER_PLAIN_GOAL },
    ],
    memory: [
      row(
        `VmRSS, ${plural(processes(results), "process", "processes")}`,
        results.memory.peaks.map((m) => m.rss),
      ),
      row(
        "PSS (shared once)",
        results.memory.peaks.map((m) => m.pss),
      ),
    ],
  };
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function processes(results: Results): number {
  return Math.max(0, ...results.memory.peaks.map((m) => m.processes));
}

function verdict(value: number, goal: number | undefined): string {
  if (goal === undefined) return "(no goal)";
  if (!Number.isFinite(value)) return "not measured";
  return value <= goal ? "**met**" : "**not met**";
}

function goalTable(results: Results): string[] {
  const lines = [
    "| metric | storefront | nginx | ratio sf/nginx, median (min–max) | goal | |",
    "|---|---|---|---|---|---|",
  ];
  for (const metric of TIMED_METRICS) {
    const times = timesOf(results, metric.id);
    const sf = summarise(times.storefront);
    const ng = summarise(times.nginx);
    const r = ratios(times);
    const bytes = metric.id.startsWith("nar-")
      ? results.closure.narBytes
      : metric.id === "zstd-first"
        ? results.zstd.storefrontFirstBytes
        : metric.id.startsWith("zstd-repeat")
          ? results.zstd.storefrontRepeatBytes
          : 0;
    const ngBytes = metric.id.startsWith("zstd-") ? results.zstd.nginxBytes : bytes;
    const range = ratioText(r);
    const rates = metric.id === "narinfo-c25" ? results.narInfoRates : undefined;
    const rate = (values: readonly number[] | undefined): string => {
      const summary = summarise(values ?? []);
      return summary.samples === 0 ? "" : `, ${summary.median.toFixed(0)} req/s`;
    };
    lines.push(
      `| ${metric.label} | ${seconds(sf)}${bytes > 0 ? throughput(bytes, sf) : rate(rates?.storefront)} | ${seconds(ng)}${ngBytes > 0 ? throughput(ngBytes, ng) : rate(rates?.nginx)} | ${range} | ${metric.goal === undefined ? "–" : `<= ${metric.goal}`} | ${verdict(r.median, metric.goal)} |`,
    );
  }
  const overPlain = zstdOverPlain(results);
  lines.push(
    `| ${ZSTD_OVER_PLAIN_LABEL} (storefront's zstd first / its plain first, per sample) | | | ${ratioText(overPlain)} | <= ${ZSTD_FIRST_OVER_PLAIN_GOAL} | ${verdict(overPlain.median, ZSTD_FIRST_OVER_PLAIN_GOAL)} |`,
  );
  const peaks = summarise(results.memory.peaks.map((m) => m.rss / MIB));
  const pss = summarise(results.memory.peaks.map((m) => m.pss / MIB));
  const mib = (s: Summary): string =>
    s.samples === 0 ? "–" : `${s.median.toFixed(0)} MiB (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;
  lines.push(
    `| peak RSS during NAR c16, sum of VmRSS | ${mib(peaks)}, ${plural(processes(results), "process", "processes")} | | highest: ${peaks.max.toFixed(0)} MiB | <= ${RSS_GOAL_BYTES / MIB} MiB | ${verdict(peaks.max, RSS_GOAL_BYTES / MIB)} |`,
    `| the same, sum of PSS (shared pages counted once) | ${mib(pss)} | | highest: ${pss.max.toFixed(0)} MiB | (<= ${RSS_GOAL_BYTES / MIB} MiB) | ${pss.samples === 0 ? "" : pss.max <= RSS_GOAL_BYTES / MIB ? "within" : "over"} |`,
  );
  if (results.push !== undefined)
    lines.push(...pushRows(results.push, results.closure.narBytes).rows);
  return lines;
}

/** What Node itself costs: the floor server and the serialiser alone, against nginx. */
function floorSection(results: Results): string[] {
  const lines = [
    "## What Node itself costs",
    "",
    "The Node floor (`bench/node-floor.ts`) is a minimal `node:http` server, one process, that",
    "serves the same static caches as nginx: narinfos from memory, NAR files (`.nar`, or the",
    "`.nar.zst` files of the zstd cache) in 512 KiB reads written with backpressure. It was",
    "measured in the same samples, in turn with the other two, on every row but the zstd first",
    "download; it was started anew with storefront for `narinfo-all, fresh start` and `NAR c1,",
    "first` (its files are the same as for any other pass: its first download is a repeat one).",
    "",
    "| metric | nginx | Node floor | storefront | floor / nginx | storefront / floor |",
    "|---|---|---|---|---|---|",
  ];
  for (const id of FLOOR_METRICS) {
    const label = TIMED_METRICS.find((m) => m.id === id)?.label ?? id;
    const times = timesOf(results, id);
    const floor = (results.floor.times as Partial<Results["floor"]["times"]>)[id] ?? [];
    lines.push(
      `| ${label} | ${seconds(summarise(times.nginx))} | ${seconds(summarise(floor))} | ` +
        `${seconds(summarise(times.storefront))} | ${ratioText(pairedRatios(floor, times.nginx))} | ` +
        `${ratioText(pairedRatios(times.storefront, floor))} |`,
    );
  }
  const generation = summarise(results.floor.generation);
  lines.push(
    "",
    `storefront's NAR serialiser alone (\`bench/generation.ts\`: every NAR of the closure built ` +
      `in the benchmark's process, no HTTP, bytes dropped): ${seconds(generation)}, ` +
      `${ratioText(pairedRatios(results.floor.generation, results.times["nar-c1"].nginx))} ` +
      "times nginx's whole NAR c1 pass in the same sample.",
  );
  return lines;
}

function zstdNotes(results: Results): string[] {
  const encodings = Object.entries(results.zstd.encodings);
  const zstdCount = results.zstd.encodings["zstd"] ?? 0;
  const total = encodings.reduce((sum, [, count]) => sum + count, 0);
  const lines: string[] = [];
  if (total > 0 && zstdCount === 0) {
    lines.push(
      "- **storefront did not compress**: with `Accept-Encoding: zstd` it answered " +
        encodings.map(([e, c]) => `${c} × ${e}`).join(", ") +
        ". The zstd rows compare its uncompressed NARs with nginx's zstd files.",
    );
  } else if (total > 0) {
    lines.push(
      `- storefront answered ${zstdCount} of ${total} NARs with \`Content-Encoding: zstd\` ` +
        `(${encodings.map(([e, c]) => `${c} × ${e}`).join(", ")}).`,
    );
  }
  lines.push(
    `- Bytes on the wire, one pass: storefront first ${(results.zstd.storefrontFirstBytes / MIB).toFixed(0)} MiB, ` +
      `repeat ${(results.zstd.storefrontRepeatBytes / MIB).toFixed(0)} MiB; nginx's zstd cache ` +
      `${(results.zstd.nginxBytes / MIB).toFixed(0)} MiB (NARs ${(results.closure.narBytes / MIB).toFixed(0)} MiB). ` +
      `storefront's NAR cache held ${(results.zstd.narCacheBytes / MIB).toFixed(0)} MiB after the first pass.`,
  );
  return lines;
}

function profileSection(results: Results): string[] {
  if (results.profile === undefined) return [];
  const lines = [
    "## Where storefront spends its time",
    "",
    "From `node --cpu-prof` of every storefront process during extra passes of each metric",
    "(`--profile`; not the timed samples): the functions that took the most time themselves, as a",
    "share of the time the processes were busy, and how busy each process was (the rest is",
    "waiting: for the socket, the disk or the client; the cluster's primary is always idle).",
    "A `serve` that starts over (src/bin.js) leaves a short first profile, busy loading and",
    "compiling its modules: its functions (`compileForInternalLoader`, ...) are start-up.",
    "Native functions (`read`, `writeBuffer`, `open`, ...) are the system calls and their copies.",
    "",
  ];
  for (const { metric, summary } of results.profile) {
    const busy = summary.busy.map((b) => `${(b * 100).toFixed(0)} %`).join(", ");
    lines.push(
      `**${metric}** (busy: ${busy})`,
      "",
      "| share of busy time | function | where |",
      "|---|---|---|",
    );
    for (const f of summary.hot) {
      lines.push(`| ${(f.share * 100).toFixed(1)} % | \`${f.name}\` | ${f.where} |`);
    }
    lines.push("");
  }
  return lines;
}

export function renderReport(
  results: Results,
  svgName: string,
  options: { tableOnly?: boolean; scale?: ScaleResults | undefined } = {},
): string {
  const m = results.machine;
  const c = results.closure;
  const table = goalTable(results);
  if (options.tableOnly === true) return table.join("\n") + "\n";
  const notes = existsSync(NOTES) ? readFileSync(NOTES, "utf8").trim() : "";
  return [
    "# storefront vs nginx",
    "",
    `Made by \`npm run bench${results.mode === "quick" ? " -- --quick" : ""}\` on ${m.date}: ` +
      `${results.samples} sample(s) per metric and server, the servers taking turns to go first within each sample.`,
    "Times are wall-clock seconds for one pass (MiB/s: bytes on the wire per second, compressed",
    "ones in the zstd rows); ratios are storefront / nginx per sample, summarised.",
    `storefront ran with its default settings${results.workers === "default" ? "" : ` but \`workers = ${results.workers}\``}, one signing key; nginx as \`bench/servers.ts\` configures it.`,
    "Within each sample storefront is started anew twice, with its NAR cache emptied: once for",
    "the zstd first download, once for `narinfo-all, fresh start` (one untimed pass of every",
    "narinfo, then the timed passes: cache-shootout's method) and the plain first download; the",
    "other rows follow on the same process, after one more untimed pass of every NAR.",
    ...(results.narCacheFilesystem === undefined
      ? []
      : [
          `storefront's NAR cache was on ${results.narCacheFilesystem}` +
            (results.narCacheFilesystem === "tmpfs"
              ? " (**tmpfs, not a real disk: the first downloads are faster than on a server**)."
              : "."),
        ]),
    "",
    `![ratios storefront / nginx with the goals](${svgName})`,
    "",
    "## Goals",
    "",
    ...table,
    "",
    ...zstdNotes(results),
    ...(results.push === undefined ? [] : pushRows(results.push, results.closure.narBytes).notes),
    `- Warm-up (every NAR downloaded, decoded and checked against its NarHash; seconds): ` +
      Object.entries(results.warmup)
        .map(([name, s]) => `${name} ${s.toFixed(2)}`)
        .join(", ") +
      ".",
    `- storefront after start, before any request: ${plural(results.memory.idle.processes, "process", "processes")}, ` +
      `VmRSS ${(results.memory.idle.rss / MIB).toFixed(0)} MiB, PSS ${(results.memory.idle.pss / MIB).toFixed(0)} MiB.`,
    "",
    ...floorSection(results),
    "",
    ...(options.scale === undefined ? [] : [...renderScale(options.scale), ""]),
    "## Machine",
    "",
    "| | |",
    "|---|---|",
    `| CPU | ${m.cpu}, ${m.cores} cores |`,
    `| memory | ${m.memory} |`,
    `| kernel | ${m.kernel} |`,
    `| Node | ${m.node} |`,
    `| nginx | ${m.nginx} |`,
    `| Nix | ${m.nix} |`,
    `| date | ${m.date} |`,
    "",
    "## Closure",
    "",
    `${c.paths} store paths, one per installed Debian package, holding ${c.files} of its files ` +
      `and referring to its dependencies' paths (${c.references} references); ` +
      `${(c.narBytes / 2 ** 30).toFixed(2)} GiB of NAR, the largest ${(c.largestNar / MIB).toFixed(0)} MiB; ` +
      `nginx's zstd cache holds ${(c.zstdCacheBytes / MIB).toFixed(0)} MiB. Built by the real Nix into a ` +
      "throw-away store (`bench/closure.ts`); the static caches are `nix copy --to file://...` of it.",
    ...(results.mode === "full" && (c.paths < 300 || c.narBytes < 2 ** 30)
      ? [
          "",
          "**This closure is smaller than the issue asks for (300 paths, 1 GiB of NAR): this " +
            "machine has too few installed Debian packages. The ratios still compare the two " +
            "servers, on less data.**",
        ]
      : []),
    "",
    ...profileSection(results),
    ...(notes === "" ? [] : [notes, ""]),
  ].join("\n");
}
