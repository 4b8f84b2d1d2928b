// The store's reference graph in memory, for questions about many closures at once (the status
// page's pins and largest closures). SQLite's recursive queries walk a closure at some 50k
// paths a second, a row and an index probe at a time: 200 closures of a NixOS system (about 2k
// paths each) would take seconds. Held here as typed arrays (each path's references as one
// slice of a shared array, "compressed sparse rows"), a closure is a walk of integers: the same
// 200 closures take milliseconds. Loading the graph costs one pass over ValidPaths and one over
// Refs (~4 bytes a reference and 13 a path while it is held).

import { compressRows } from "./compressed-rows.ts";

export interface ClosureSize {
  /** Paths in the closure, the roots included. */
  readonly paths: number;
  /** Their NAR bytes. */
  readonly bytes: number;
}

export interface GraphRows {
  /** ValidPaths.id, ascending. */
  readonly ids: Int32Array;
  readonly narSizes: Float64Array;
  /** 1 for a derivation (`.drv`), 0 otherwise. */
  readonly derivations: Uint8Array;
  /** Refs as parallel arrays of ids (referrer, reference), in any order. */
  readonly referrers: Int32Array;
  readonly references: Int32Array;
}

export class ReferenceGraph {
  readonly #ids: Int32Array;
  readonly #narSizes: Float64Array;
  readonly #derivations: Uint8Array;
  /** Node index by ValidPaths.id (ids only grow, so the table is as long as the largest). */
  readonly #indexById: Int32Array;
  /** The references of node i are #targets[#offsets[i] .. #offsets[i + 1]], as node indices. */
  readonly #offsets: Int32Array;
  readonly #targets: Int32Array;
  /** How many other paths refer to each node. */
  readonly #referrerCounts: Int32Array;
  /** Marks of the walk in progress: node i is in the closure when #seen[i] === #walk. */
  readonly #seen: Int32Array;
  /** The walk's nodes still to visit. */
  readonly #stack: Int32Array;
  #walk = 0;

  constructor(rows: GraphRows) {
    const count = rows.ids.length;
    this.#ids = rows.ids;
    this.#narSizes = rows.narSizes;
    this.#derivations = rows.derivations;
    this.#indexById = new Int32Array((rows.ids[count - 1] ?? 0) + 1).fill(-1);
    for (let i = 0; i < count; i++) this.#indexById[rows.ids[i] ?? 0] = i;
    this.#seen = new Int32Array(count);
    this.#stack = new Int32Array(count);
    this.#referrerCounts = new Int32Array(count);
    // Each referrer's references as one slice.
    const from = new Int32Array(rows.referrers.length);
    const to = new Int32Array(rows.referrers.length);
    let edges = 0;
    for (let i = 0; i < rows.referrers.length; i++) {
      const a = this.indexOf(rows.referrers[i] ?? 0);
      const b = this.indexOf(rows.references[i] ?? 0);
      // A reference to a path deleted meanwhile (or from one) is not part of the graph.
      if (a < 0 || b < 0) continue;
      from[edges] = a;
      to[edges] = b;
      edges++;
      if (a !== b) this.#referrerCounts[b] = (this.#referrerCounts[b] ?? 0) + 1;
    }
    const { offsets, values } = compressRows(count, from, to, edges);
    this.#offsets = offsets;
    this.#targets = values;
  }

  /** The node index of a ValidPaths.id, or -1. */
  indexOf(id: number): number {
    return id >= 0 && id < this.#indexById.length ? (this.#indexById[id] ?? -1) : -1;
  }

  /** Every valid path and their NAR bytes. */
  totals(): ClosureSize {
    let bytes = 0;
    for (const size of this.#narSizes) bytes += size;
    return { paths: this.#ids.length, bytes };
  }

  /**
   * The ids of the newest `limit` top-level paths: not derivations (a `.drv`'s closure is its
   * build inputs, not what a client downloads), and referred to by no other path: what was
   * built or pushed, not a dependency of it.
   */
  newestTopLevel(limit: number): number[] {
    const found: number[] = [];
    for (let i = this.#ids.length - 1; i >= 0 && found.length < limit; i--) {
      if (this.#derivations[i] === 0 && this.#referrerCounts[i] === 0)
        found.push(this.#ids[i] ?? 0);
    }
    return found;
  }

  /** The closure of the paths `ids` together (ids not in the graph count for nothing). */
  closure(ids: readonly number[]): ClosureSize {
    const walk = ++this.#walk;
    const seen = this.#seen;
    const stack = this.#stack;
    const offsets = this.#offsets;
    const targets = this.#targets;
    let top = 0;
    let paths = 0;
    let bytes = 0;
    for (const id of ids) {
      const node = this.indexOf(id);
      if (node < 0 || seen[node] === walk) continue;
      seen[node] = walk;
      stack[top++] = node;
    }
    while (top > 0) {
      const node = stack[--top] ?? 0;
      paths++;
      bytes += this.#narSizes[node] ?? 0;
      const end = offsets[node + 1] ?? 0;
      for (let e = offsets[node] ?? 0; e < end; e++) {
        const next = targets[e] ?? 0;
        if (seen[next] !== walk) {
          seen[next] = walk;
          stack[top++] = next;
        }
      }
    }
    return { paths, bytes };
  }
}
