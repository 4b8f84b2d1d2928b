// A cap on the responses that stream a store path's contents at once (`max_streams`): NARs,
// tarballs, .ls listings, /serve files and build logs. Each holds buffers (a NAR chunk being filled, one in
// the socket, an encoder's state: about 1 MiB plain and 4 MiB with zstd), so their number, not
// the number of connections, decides the memory a process needs. One over the cap waits a
// little for a slot, as a download that ends frees one; then it is answered 503 with
// Retry-After, which Nix retries.

import type { ServerResponse } from "node:http";
import type { Gauge, Counter } from "prom-client";
import { StorefrontError } from "../errors.ts";

/** How long a stream waits for a slot before its 503: a moment, not a queue to sit in. */
const STREAM_QUEUE_WAIT_MS = 5_000;

/**
 * Once this many streams ran since the last collection and none runs for a second, collect;
 * and again a few seconds later, for what the sockets of hundreds of clients leaving at once
 * still held at the first (300 slow readers: 58 MiB outside the heap stayed, in some runs).
 */
const COLLECT_AFTER_STREAMS = 8;
const COLLECT_WHEN_IDLE_MS = [1_000, 5_000] as const;

export interface StreamSlotMetrics {
  readonly inFlight: Gauge;
  readonly refused: Counter;
}

export class StreamSlots {
  readonly #limit: number;
  readonly #waitMs: number;
  readonly #metrics: StreamSlotMetrics | undefined;
  readonly #collect: (() => void) | undefined;
  #used = 0;
  #sinceCollected = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  /** Waiters, first come first served; each is called with true (a slot) or false (gone). */
  readonly #waiting: ((granted: boolean) => void)[] = [];

  /**
   * `collect`, a full garbage collection, runs once the streams have stopped after a burst: it
   * gives their buffers (outside V8's heap) back to the system at once.
   */
  constructor(
    limit: number,
    options: {
      readonly metrics?: StreamSlotMetrics;
      readonly collect?: (() => void) | undefined;
      readonly waitMs?: number;
    } = {},
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError("max_streams must be >= 1");
    this.#limit = limit;
    this.#waitMs = options.waitMs ?? STREAM_QUEUE_WAIT_MS;
    this.#metrics = options.metrics;
    this.#collect = options.collect;
  }

  get used(): number {
    return this.#used;
  }

  /**
   * Runs `stream` in a slot, taken now or within the wait; the slot is freed when it settles,
   * whatever way. Throws `busy` when no slot came in time; a client that goes away while it
   * waits leaves the queue (and `stream` is not run).
   */
  async run(res: ServerResponse, stream: () => Promise<void>): Promise<void> {
    if (!(await this.#take(res))) {
      if (res.destroyed) return;
      this.#metrics?.refused.inc();
      throw new StorefrontError("busy", `more than ${this.#limit} streams at once`);
    }
    this.#metrics?.inFlight.inc();
    this.#sinceCollected += 1;
    try {
      await stream();
    } finally {
      this.#metrics?.inFlight.dec();
      this.#free();
    }
  }

  #take(res: ServerResponse): Promise<boolean> {
    if (this.#used < this.#limit) {
      this.#used += 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const settle = (granted: boolean): void => {
        clearTimeout(timer);
        res.off("close", gone);
        const index = this.#waiting.indexOf(settle);
        if (index !== -1) this.#waiting.splice(index, 1);
        resolve(granted);
      };
      const gone = (): void => {
        settle(false);
      };
      const timer = setTimeout(gone, this.#waitMs);
      res.once("close", gone);
      this.#waiting.push(settle);
    });
  }

  #free(): void {
    const next = this.#waiting.shift();
    // The slot passes straight to the first waiter: the count stays as it is.
    if (next === undefined) this.#used -= 1;
    else next(true);
    if (this.#used === 0 && this.#sinceCollected >= COLLECT_AFTER_STREAMS) this.#collectWhenIdle();
  }

  #collectWhenIdle(pass = 0): void {
    const collect = this.#collect;
    const delay = COLLECT_WHEN_IDLE_MS[pass];
    if (collect === undefined || delay === undefined) return;
    if (pass === 0 && this.#idleTimer !== undefined) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#used !== 0) return;
      this.#sinceCollected = 0;
      collect();
      this.#collectWhenIdle(pass + 1);
    }, delay);
    // Never what keeps a stopping process alive.
    this.#idleTimer.unref();
  }
}
