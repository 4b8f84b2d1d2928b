// One sample of the store for its history: paths, NAR bytes, free space, and the NAR bytes that
// storefront's pins keep (the closures of all their revisions).

import type { Clock } from "../clock.ts";
import type { HistorySample } from "../state/records.ts";
import type { StoreIndex } from "../store/db/store-index.ts";
import type { GcRoots } from "../store/roots/gc-roots.ts";
import type { StoreMeasure } from "./plan.ts";

export function storeSample(
  measure: StoreMeasure,
  index: StoreIndex,
  roots: GcRoots,
  clock: Clock,
): HistorySample {
  const targets = new Set(
    roots.list().flatMap((pin) => pin.revisions.map((revision) => revision.storePath)),
  );
  return {
    time: clock(),
    paths: measure.paths,
    narBytes: measure.narBytes,
    freeBytes: measure.freeBytes,
    pinnedBytes: index.closureTotals([...targets]).bytes,
  };
}
