// Garbage collections on demand, for buffers that live outside V8's heap (NAR chunks, encoder
// output, upload chunks), which V8 alone does not count when it decides to collect: a process
// left idle after hundreds of streams kept 60 MiB of such garbage for as long as it stayed
// idle, and a push's upload chunks piled up ~40 MiB between the collections V8 started itself.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Gc = (options?: { type: "minor" | "major"; execution: "sync" | "async" }) => void;

/** V8's `gc`, once found: each look makes a V8 context of its own. */
let found: { gc: Gc | undefined } | undefined;

/** V8's `gc`, or undefined when this V8 does not let us have it. */
function exposedGc(): Gc | undefined {
  found ??= { gc: lookUpGc() };
  return found.gc;
}

function lookUpGc(): Gc | undefined {
  try {
    // The flag takes effect for contexts made after it: a new one has `gc` as a global.
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    return typeof gc === "function" ? (gc as Gc) : undefined;
  } catch {
    return undefined;
  }
}

/** V8's full collection, or undefined when this V8 does not let us have it. */
export function fullCollector(): (() => void) | undefined {
  const gc = exposedGc();
  return gc === undefined
    ? undefined
    : () => {
        gc();
      };
}

/**
 * A collection of the young generation only (~1 ms): it frees the buffers of short-lived
 * chunks, which die young, without the cost of a full collection.
 */
export function youngCollector(): (() => void) | undefined {
  const gc = exposedGc();
  return gc === undefined
    ? undefined
    : () => {
        gc({ type: "minor", execution: "sync" });
      };
}
