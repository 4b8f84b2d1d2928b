// What the budget deletes, decided with plain values: how many bytes the store is over its
// budget, and the dead paths in the order they go, least recently used first.
//
// Why the order looks at referrers: Nix deletes a dead path together with its dead referrers
// (a path cannot outlive what it refers to), so deleting an old path would also delete a
// recently used one that refers to it. A path is therefore as recent as the most recent of
// itself and everything that refers to it, directly or not; among paths equally recent,
// referrers go first. Deleting in this order, a path's referrers are always deleted before
// (or with) it, and what a dry run lists is what a run deletes.

import type { Reference } from "../store/db/store-index.ts";

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

/** `paths` (all dead) in the order they are deleted: least recently used first. */
export function deletionOrder(
  paths: readonly DeadPath[],
  references: readonly Reference[],
): Candidate[] {
  const byId = new Map(paths.map((path) => [path.id, path]));
  const referrers = new Map<number, number[]>();
  for (const { referrer, reference } of references) {
    if (!byId.has(referrer) || !byId.has(reference) || referrer === reference) continue;
    const list = referrers.get(reference) ?? [];
    list.push(referrer);
    referrers.set(reference, list);
  }
  const recency = new Map<number, number>();
  // How far from the top of its referrer chains: referrers (lower) go first on a tie.
  const depth = new Map<number, number>();
  // Depth first over the referrers, with a stack of our own: chains of references can be far
  // deeper than the call stack.
  const visiting = new Set<number>();
  for (const start of paths) {
    if (recency.has(start.id)) continue;
    const stack = [{ id: start.id, next: 0 }];
    visiting.add(start.id);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { id: number; next: number };
      const list = referrers.get(top.id) ?? [];
      const referrer = list[top.next];
      if (referrer !== undefined) {
        top.next++;
        // A cycle (Nix makes none between distinct paths) is cut where it closes.
        if (!recency.has(referrer) && !visiting.has(referrer)) {
          visiting.add(referrer);
          stack.push({ id: referrer, next: 0 });
        }
        continue;
      }
      stack.pop();
      visiting.delete(top.id);
      const path = byId.get(top.id);
      let latest = path === undefined ? 0 : Math.max(path.registered, path.lastUsed ?? 0);
      let level = 0;
      for (const above of list) {
        latest = Math.max(latest, recency.get(above) ?? 0);
        level = Math.max(level, (depth.get(above) ?? -1) + 1);
      }
      recency.set(top.id, latest);
      depth.set(top.id, level);
    }
  }
  return paths
    .map((path) => ({ ...path, recency: recency.get(path.id) ?? 0 }))
    .sort(
      (a, b) =>
        a.recency - b.recency ||
        (depth.get(a.id) ?? 0) - (depth.get(b.id) ?? 0) ||
        (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
    );
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
