// The uploads' limiter: decoders of compressed NAR uploads run a few at a time (each holds
// megabytes), the others wait their turn, and a failing one gives its place up.

import { describe, expect, it } from "vitest";
import { Limiter } from "../../src/uploads/limit.ts";

describe("Limiter", () => {
  it("runs at most `max` tasks at once, the others in the order they came", async () => {
    const limiter = new Limiter(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const gates = Array.from({ length: 5 }, () => Promise.withResolvers<undefined>());
    const tasks = gates.map((gate, index) =>
      limiter.run(async () => {
        started.push(index);
        running++;
        most = Math.max(most, running);
        await gate.promise;
        running--;
        return index;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    for (const gate of gates) {
      gate.resolve(undefined);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });

  it("gives the place of a failed task to the next", async () => {
    const limiter = new Limiter(1);
    const failed = limiter.run(() => Promise.reject(new Error("corrupt input")));
    const next = limiter.run(() => Promise.resolve("decoded"));
    await expect(failed).rejects.toThrow("corrupt input");
    expect(await next).toBe("decoded");
  });

  it("refuses a max that is not a whole number of at least 1", () => {
    expect(() => new Limiter(0)).toThrow(RangeError);
    expect(() => new Limiter(1.5)).toThrow(RangeError);
  });
});
