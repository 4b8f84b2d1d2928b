// Bodies take turns with the rest of the event loop (http/turns.ts): a download whose socket
// takes every write at once must not keep the server from accepting connections and answering
// other requests until that download is done.

import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { sendChunks } from "../../src/http/respond.ts";

/** A destination that takes every write at once, as a socket with room in its buffer. */
function roomyDestination(): Writable {
  return new Writable({
    highWaterMark: 1 << 30,
    write(_chunk, _encoding, done) {
      done();
    },
  });
}

/** Spins for `ms`: a chunk that costs as much as reading and hashing one. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe("bodies streamed to sockets with room", () => {
  it("let a timer set meanwhile run long before they end", async () => {
    const chunksPerBody = 300;
    let produced = 0;
    function* body(): Generator<Buffer> {
      for (let i = 0; i < chunksPerBody; i += 1) {
        spin(0.1);
        produced += 1;
        yield Buffer.alloc(1024);
      }
    }
    const bodies = [1, 2, 3, 4].map(() => sendChunks(roomyDestination(), body()));
    // What a new connection or a narinfo request waits for: a later turn of the event loop.
    const producedWhenTimerRan = await new Promise<number>((resolve) => {
      setTimeout(() => {
        resolve(produced);
      }, 0);
    });
    await Promise.all(bodies);
    expect(produced).toBe(4 * chunksPerBody);
    // One-turn-at-a-time bodies let the timer in after a few chunks (a millisecond's worth);
    // bodies that never yield would have produced all 1,200 first.
    expect(producedWhenTimerRan).toBeLessThan(120);
  });

  it("stop reading and close their producer when the client leaves while they wait", async () => {
    let produced = 0;
    let closed = 0;
    function* body(): Generator<Buffer> {
      try {
        // Far more than a few milliseconds can produce: the client leaves before the end.
        for (let i = 0; i < 1_000_000; i += 1) {
          spin(0.01);
          produced += 1;
          yield Buffer.alloc(1024);
        }
      } finally {
        closed += 1;
      }
    }
    const destinations = [1, 2, 3].map(() => roomyDestination());
    const bodies = destinations.map((destination) => sendChunks(destination, body()));
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (const destination of destinations) destination.destroy();
    await Promise.all(bodies);
    const producedAtEnd = produced;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(closed).toBe(3);
    expect(produced).toBe(producedAtEnd);
    expect(produced).toBeLessThan(3_000_000);
  });
});
