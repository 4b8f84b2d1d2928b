// One sample of the store for its history: paths, NAR bytes, free space, and the NAR bytes that
// storefront's pins keep (the closures of all their revisions).

import type { Clock } from "../clock.ts";
import type { HistorySample } from "../state/records.ts";
import type { StoreIndex } from "../store/db/store-index.ts";
import type { GcRoots } from "../store/roots/gc-roots.ts";
import type { StoreMeasure } from "./plan.ts";

/**
 * The sample; `pinnedBytes` as the store monitor counted them, or (without one) counted here,
 * which on a large store takes seconds.
 */
export function storeSample(
  measure: StoreMeasure,
  index: StoreIndex,
  roots: GcRoots,
  clock: Clock,
  pinnedBytes?: number,
): HistorySample {
  const counted = (): number => {
    const targets = new Set(
      roots.list().flatMap((pin) => pin.revisions.map((revision) => revision.storePath)),
    );
    return index.closureTotals([...targets]).bytes;
  };
  return {
    time: clock(),
    paths: measure.paths,
    narBytes: measure.narBytes,
    freeBytes: measure.freeBytes,
    pinnedBytes: pinnedBytes ?? counted(),
  };
}
