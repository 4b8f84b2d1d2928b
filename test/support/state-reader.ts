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
 * `count` samples, one every `everyMs` up to `until`: a store that grows, then is collected back
 * below its budget, with free space falling and rising as it does.
 */
export function growingStore(count: number, until: number, everyMs = 6 * HOUR_MS): HistorySample[] {
  return Array.from({ length: count }, (_, i) => {
    const growth = (i % 40) / 40;
    const narBytes = Math.round((60 + 100 * growth) * GIB);
    return {
      time: until - (count - 1 - i) * everyMs,
      paths: Math.round(20_000 + 30_000 * growth),
      narBytes,
      freeBytes: Math.round(260 * GIB - narBytes),
      pinnedBytes: Math.round(40 * GIB + 10 * growth * GIB),
    };
  });
}
