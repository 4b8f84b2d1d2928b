// What the budget deletes, decided with plain values: how many bytes the store is over its
// budget, and the dead paths in the order they go, least recently used first.
//
// Why the order looks at referrers: Nix deletes a dead path together with its dead referrers
// (a path cannot outlive what it refers to), so deleting an old path would also delete a
// recently used one that refers to it. A path is therefore as recent as the most recent of
// itself and everything that refers to it, directly or not; among paths equally recent,
// referrers go first. Deleting in this order, a path's referrers are always deleted before
// (or with) it, and what a dry run lists is what a run deletes.

import { compressRows } from "../store/db/compressed-rows.ts";
import type { ReferencePairs } from "../store/db/store-index.ts";

export interface BudgetLimits {
  /** `[gc] max_store_size`: the NAR bytes of all valid paths stay at or below it. */
  readonly maxStoreSize: number | undefined;
  /** `[gc] min_free`: free bytes on the store's file system stay at or above it. */
  readonly minFree: number | undefined;
}

export interface StoreMeasure {
  readonly paths: number;
  readonly narBytes: number;
  readonly freeBytes: number;
}

/** Bytes to free for the store to be within `limits`; 0 when it is. */
export function excessBytes(measure: StoreMeasure, limits: BudgetLimits): number {
  const oversize = limits.maxStoreSize === undefined ? 0 : measure.narBytes - limits.maxStoreSize;
  const shortfall = limits.minFree === undefined ? 0 : limits.minFree - measure.freeBytes;
  return Math.max(0, oversize, shortfall);
}

/** A dead path as the budget weighs it. */
export interface DeadPath {
  /** ValidPaths.id in Nix's database, as references name it. */
  readonly id: number;
  readonly path: string;
  readonly narSize: number;
  /** When Nix registered it (ms). */
  readonly registered: number;
  /** Its last use recorded by storefront (ms), if any. */
  readonly lastUsed: number | undefined;
}

export interface Candidate extends DeadPath {
  /** The latest of its registration and last use, and of those of its referrers (see above). */
  readonly recency: number;
}

/**
 * `paths` (all dead) in the order they are deleted: least recently used first. Worked on typed
 * arrays indexed by the paths' places in `paths` (a store of a million dead paths has five
 * million references among them: as objects and maps they took gigabytes).
 */
export function deletionOrder(paths: readonly DeadPath[], references: ReferencePairs): Candidate[] {
  const count = paths.length;
  const placeOf = new Map<number, number>();
  paths.forEach((path, place) => placeOf.set(path.id, place));
  // The referrers of each path, as places, in one array: those of the path at place `p` are
  // referrerList[firstReferrer[p]] up to referrerList[firstReferrer[p + 1]].
  const referrers = new Int32Array(references.referrers.length);
  const referenced = new Int32Array(references.referrers.length);
  let edges = 0;
  for (let pair = 0; pair < references.referrers.length; pair++) {
    const referrer = placeOf.get(references.referrers[pair] ?? -1);
    const reference = placeOf.get(references.references[pair] ?? -1);
    if (referrer === undefined || reference === undefined || referrer === reference) continue;
    referrers[edges] = referrer;
    referenced[edges] = reference;
    edges++;
  }
  const { offsets: firstReferrer, values: referrerList } = compressRows(
    count,
    referenced,
    referrers,
    edges,
  );

  const recency = new Float64Array(count);
  // How far from the top of its referrer chains: referrers (lower) go first on a tie.
  const depth = new Int32Array(count);
  // 0: not reached yet, 1: on the stack, 2: done.
  const state = new Uint8Array(count);
  // Depth first over the referrers, with a stack of our own (chains of references can be far
  // deeper than the call stack); each path is pushed once, so `count` places are enough.
  const stack = new Int32Array(count);
  const nextReferrer = new Int32Array(count);
  for (let start = 0; start < count; start++) {
    if (state[start] !== 0) continue;
    let top = 0;
    stack[0] = start;
    state[start] = 1;
    nextReferrer[start] = firstReferrer[start] ?? 0;
    while (top >= 0) {
      const place = stack[top] ?? 0;
      const next = nextReferrer[place] ?? 0;
      if (next < (firstReferrer[place + 1] ?? 0)) {
        nextReferrer[place] = next + 1;
        const referrer = referrerList[next] ?? 0;
        // A cycle (Nix makes none between distinct paths) is cut where it closes.
        if (state[referrer] === 0) {
          state[referrer] = 1;
          nextReferrer[referrer] = firstReferrer[referrer] ?? 0;
          stack[++top] = referrer;
        }
        continue;
      }
      top--;
      state[place] = 2;
      const path = paths[place] as DeadPath;
      let latest = Math.max(path.registered, path.lastUsed ?? 0);
      let level = 0;
      for (let k = firstReferrer[place] ?? 0; k < (firstReferrer[place + 1] ?? 0); k++) {
        const above = referrerList[k] ?? 0;
        // One still on the stack closes a cycle: it counts for nothing, as a path never used.
        if (state[above] !== 2) continue;
        latest = Math.max(latest, recency[above] ?? 0);
        level = Math.max(level, (depth[above] ?? 0) + 1);
      }
      recency[place] = latest;
      depth[place] = level;
    }
  }

  const order = Int32Array.from({ length: count }, (_, place) => place).sort((a, b) => {
    const byRecency = (recency[a] ?? 0) - (recency[b] ?? 0) || (depth[a] ?? 0) - (depth[b] ?? 0);
    if (byRecency !== 0) return byRecency;
    const pathA = (paths[a] as DeadPath).path;
    const pathB = (paths[b] as DeadPath).path;
    return pathA < pathB ? -1 : pathA > pathB ? 1 : 0;
  });
  return Array.from(order, (place) => ({
    ...(paths[place] as DeadPath),
    recency: recency[place] ?? 0,
  }));
}

/**
 * The first of `ordered` whose NAR sizes add up to `bytes` (all of them when they do not),
 * at most `maxPaths` of them.
 */
export function takeUntil(
  ordered: readonly Candidate[],
  bytes: number,
  maxPaths = Infinity,
): Candidate[] {
  const taken: Candidate[] = [];
  let sum = 0;
  for (const candidate of ordered) {
    if (sum >= bytes || taken.length >= maxPaths) break;
    taken.push(candidate);
    sum += candidate.narSize;
  }
  return taken;
}
