// The reference graph that the status page measures closures with: closures and their sizes,
// top-level paths, and references to paths that are gone, on plain arrays.

import { describe, expect, it } from "vitest";
import { ReferenceGraph } from "../../src/store/db/reference-graph.ts";

// ids 1..7 (4 was deleted: ids have gaps); 7 is a .drv referring to 3.
//   6 -> 5 -> 3 -> 2      1 (alone)     5 -> 2     3 -> 3 (itself)     9 -> 2 (9 is gone)
const graph = new ReferenceGraph({
  ids: Int32Array.from([1, 2, 3, 5, 6, 7]),
  narSizes: Float64Array.from([1, 10, 100, 1000, 10_000, 100_000]),
  derivations: Uint8Array.from([0, 0, 0, 0, 0, 1]),
  referrers: Int32Array.from([6, 5, 3, 5, 3, 7, 9]),
  references: Int32Array.from([5, 3, 2, 2, 3, 3, 2]),
});

describe("the reference graph", () => {
  it("counts a closure's paths once each, with their NAR bytes", () => {
    expect(graph.closure([6])).toEqual({ paths: 4, bytes: 11_110 });
    expect(graph.closure([3])).toEqual({ paths: 2, bytes: 110 });
    expect(graph.closure([6, 5, 1])).toEqual({ paths: 5, bytes: 11_111 });
    expect(graph.closure([])).toEqual({ paths: 0, bytes: 0 });
    // Ids that are not valid paths count for nothing.
    expect(graph.closure([4, 9, 1_000_000])).toEqual({ paths: 0, bytes: 0 });
  });

  it("finds the newest top-level paths: no referrer but themselves, no derivations", () => {
    expect(graph.newestTopLevel(10)).toEqual([6, 1]);
    expect(graph.newestTopLevel(1)).toEqual([6]);
  });

  it("totals the store", () => {
    expect(graph.totals()).toEqual({ paths: 6, bytes: 111_111 });
  });
});
