// Turns of the event loop shared among the bodies being streamed, so that no burst of
// downloads keeps new connections and small requests waiting.
//
// libuv accepts one connection per turn of the event loop (libuv#3696), so a request waits
// one turn for each connection queued before its own: a turn must stay short even when many
// downloads want to run. Without this, a socket whose kernel buffer has room takes each write
// at once and drains in the same tick, so a new download reads (and on a first walk, hashes)
// megabytes before it lets the loop go on: 32 first downloads at once made a narinfo wait
// 200-700 ms behind the readers' own connections. Here every chunk of every body waits its
// place in one queue, and the chunks of all bodies run for about TURN_MS a turn (or one chunk,
// if that takes longer): with it, 300 slow readers of every kind arriving in bursts of 50 kept
// a probe's narinfo under 90 ms. One fast download still runs a chunk or two a turn (a turn
// costs a poll of the sockets and an immediate, a few µs): repeat downloads spent the same CPU
// per GiB as before (bench/nar-cpu.ts).

import { performance } from "node:perf_hooks";

/** How long the chunks of one turn may run, all bodies together. */
const TURN_MS = 0.25;

const waiting: (() => void)[] = [];
let turnStarted: number | undefined;
let scheduled = false;

/**
 * Resolves when the caller may produce and write its next chunk: at once while the current
 * turn has time left and nobody waits before it, else in a later turn, in order of asking.
 */
export function nextChunkTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (turnStarted !== undefined && performance.now() - turnStarted < TURN_MS) {
      // Within a turn: the one first in line goes now (as a microtask, still in this turn).
      waiting.shift()?.();
      return;
    }
    turnStarted = undefined;
    schedule();
  });
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(runTurn);
}

/** The check phase of a turn: the first in line runs; what it asks next continues the turn. */
function runTurn(): void {
  scheduled = false;
  turnStarted = performance.now();
  waiting.shift()?.();
  // A waiter that does not ask again (its body ended) leaves the others to the next turn.
  if (waiting.length > 0) schedule();
}
