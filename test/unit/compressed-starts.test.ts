// Compressed streams start one at a time: the next starts once the one before has filled its
// socket, ended, or run for a tenth of a second, so that no stream waits long and the burst of
// many starting at once does not take every core (bench/slow-readers.ts measures the effect).

import { describe, expect, it } from "vitest";
import { compressedStart } from "../../src/http/compressed-starts.ts";

/** Whether `promise` has settled once pending callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe("compressedStart", () => {
  it("starts the next stream when the one before says its socket is full, in order", async () => {
    const first = await compressedStart();
    const second = compressedStart();
    const third = compressedStart();
    expect(await settled(second)).toBe(false);
    first();
    first(); // a second call (its end, after its socket was full) hands on nothing more
    expect(await settled(second)).toBe(true);
    expect(await settled(third)).toBe(false);
    (await second)();
    (await third)();
    // All done: the next one starts at once.
    const fourth = compressedStart();
    expect(await settled(fourth)).toBe(true);
    (await fourth)();
  });

  it("lets the next stream start after a while even if the one before keeps going", async () => {
    const first = await compressedStart();
    const started = Date.now();
    const second = await compressedStart();
    expect(Date.now() - started).toBeLessThan(5_000);
    second();
    first();
  });
});
