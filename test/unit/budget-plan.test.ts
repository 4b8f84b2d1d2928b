// The budget's plan with plain values: how far over budget a store is, and the order in which
// dead paths go (least recently used first, a path as recent as its referrers).

import { describe, expect, it } from "vitest";
import { deletionOrder, excessBytes, takeUntil, type DeadPath } from "../../src/budget/plan.ts";
import type { ReferencePairs } from "../../src/store/db/store-index.ts";

const path = (id: number, registered: number, lastUsed?: number, narSize = 100): DeadPath => ({
  id,
  path: `/nix/store/${String(id).padStart(32, "0")}-p${id}`,
  narSize,
  registered,
  lastUsed,
});

const pairs = (refs: [number, number][]): ReferencePairs => ({
  referrers: Int32Array.from(refs, ([referrer]) => referrer),
  references: Int32Array.from(refs, ([, reference]) => reference),
});

const order = (paths: DeadPath[], refs: [number, number][] = []): number[] =>
  deletionOrder(paths, pairs(refs)).map((candidate) => candidate.id);

describe("excessBytes", () => {
  const measure = { paths: 10, narBytes: 1000, freeBytes: 500 };

  it("is 0 within budget and without one", () => {
    expect(excessBytes(measure, { maxStoreSize: undefined, minFree: undefined })).toBe(0);
    expect(excessBytes(measure, { maxStoreSize: 1000, minFree: 500 })).toBe(0);
  });

  it("is the larger of the bytes over the size budget and the free space missing", () => {
    expect(excessBytes(measure, { maxStoreSize: 900, minFree: undefined })).toBe(100);
    expect(excessBytes(measure, { maxStoreSize: undefined, minFree: 800 })).toBe(300);
    expect(excessBytes(measure, { maxStoreSize: 900, minFree: 800 })).toBe(300);
    expect(excessBytes(measure, { maxStoreSize: 0, minFree: 800 })).toBe(1000);
  });
});

describe("deletionOrder", () => {
  it("puts the least recently used first; a path never used counts from its registration", () => {
    expect(order([path(1, 50, 400), path(2, 300), path(3, 10, 200), path(4, 100)])).toEqual([
      4, 3, 2, 1,
    ]);
  });

  it("takes the later of registration and last use (a path deleted and registered again)", () => {
    expect(order([path(1, 500, 100), path(2, 300, 400)])).toEqual([2, 1]);
  });

  it("makes a path as recent as its most recent referrer, and puts referrers first", () => {
    // 1 is old but 2, used lately, refers to it: deleting 1 would delete 2 with it.
    const paths = [path(1, 10), path(2, 20, 900), path(3, 500)];
    expect(order(paths, [[2, 1]])).toEqual([3, 2, 1]);
    const ordered = deletionOrder(paths, pairs([[2, 1]]));
    expect(ordered.map((candidate) => candidate.recency)).toEqual([500, 900, 900]);
  });

  it("follows referrers of referrers, and orders a chain from the top on a tie", () => {
    // 4 -> 3 -> 2 -> 1, all unused and equally old: the top goes first.
    const paths = [path(1, 10), path(2, 10), path(3, 10), path(4, 10), path(5, 5)];
    expect(
      order(paths, [
        [2, 1],
        [3, 2],
        [4, 3],
      ]),
    ).toEqual([5, 4, 3, 2, 1]);
    // A use of the top makes the whole chain recent.
    const used = [path(1, 10), path(2, 10), path(3, 10, 700), path(5, 50)];
    expect(
      order(used, [
        [2, 1],
        [3, 2],
      ]),
    ).toEqual([5, 3, 2, 1]);
  });

  it("ignores references to or from paths that are not dead, and to themselves", () => {
    expect(
      order(
        [path(1, 10), path(2, 20)],
        [
          [1, 1],
          [99, 1],
          [2, 98],
        ],
      ),
    ).toEqual([1, 2]);
  });

  it("survives a cycle", () => {
    expect(
      order(
        [path(1, 10), path(2, 20)],
        [
          [1, 2],
          [2, 1],
        ],
      ).sort(),
    ).toEqual([1, 2]);
  });
});

describe("takeUntil", () => {
  const ordered = deletionOrder(
    [path(1, 1, undefined, 100), path(2, 2, undefined, 50), path(3, 3)],
    pairs([]),
  );

  it("takes paths until their NAR sizes cover the bytes, or all of them", () => {
    expect(takeUntil(ordered, 0).map((c) => c.id)).toEqual([]);
    expect(takeUntil(ordered, 100).map((c) => c.id)).toEqual([1]);
    expect(takeUntil(ordered, 101).map((c) => c.id)).toEqual([1, 2]);
    expect(takeUntil(ordered, 10_000).map((c) => c.id)).toEqual([1, 2, 3]);
    expect(takeUntil(ordered, 10_000, 2).map((c) => c.id)).toEqual([1, 2]);
  });
});
