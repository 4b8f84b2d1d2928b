// A StateReader over plain lists, as the state database answers (src/state/records.ts): for
// tests of the status page, which reads the state only through that interface.

import type {
  GcRunRecord,
  HistorySample,
  PushRecordEntry,
  StateReader,
} from "../../src/state/records.ts";

export interface MemoryState {
  readonly history?: readonly HistorySample[];
  readonly pushes?: readonly PushRecordEntry[];
  readonly gcRuns?: readonly GcRunRecord[];
}

export function memoryStateReader(state: MemoryState): StateReader {
  const newestFirst = <T extends { readonly time: number }>(list: readonly T[], limit: number) =>
    [...list].sort((a, b) => b.time - a.time).slice(0, limit);
  return {
    history: (since) =>
      (state.history ?? []).filter((s) => s.time >= since).sort((a, b) => a.time - b.time),
    recentPushes: (limit) => newestFirst(state.pushes ?? [], limit),
    recentGcRuns: (limit) => newestFirst(state.gcRuns ?? [], limit),
  };
}

const HOUR_MS = 60 * 60 * 1000;
const GIB = 1024 ** 3;

/**
 * `count` samples, one every `everyMs` up to `until`: a store that grows by pushes (unevenly,
 * but the same every run) and is collected back below its budget whenever it passes 185 GiB,
 * with free space falling and rising as it does.
 */
export function growingStore(count: number, until: number, everyMs = 6 * HOUR_MS): HistorySample[] {
  const samples: HistorySample[] = [];
  let narBytes = 110 * GIB;
  for (let i = 0; i < count; i++) {
    narBytes += (0.6 + 0.5 * Math.sin(i * 0.7) + 0.3 * Math.sin(i * 0.13)) * GIB;
    if (narBytes > 185 * GIB) narBytes -= 55 * GIB;
    samples.push({
      time: until - (count - 1 - i) * everyMs,
      paths: Math.round((narBytes / GIB) * 310),
      narBytes: Math.round(narBytes),
      freeBytes: Math.round(300 * GIB - narBytes),
      pinnedBytes: Math.round((38 + 4 * Math.sin(i * 0.05) + i * 0.01) * GIB),
    });
  }
  return samples;
}
