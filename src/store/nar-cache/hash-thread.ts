// The sha256 of the NARs whose layouts are being recorded, on a thread of its own. A layout is
// kept only if the walk that recorded it yielded its NarHash's bytes; hashed on the serving
// thread as the walk streamed, that was a third of a first download's CPU (the benchmark
// closure, one connection: 2.4-2.9 CPU seconds a pass with the hash, 1.6-1.8 without). The
// recorder copies each chunk into a slot of memory shared with the thread, a memcpy where
// hashing costs several times as much, and the download goes on while the thread hashes.
//
// SLOTS chunks may wait to be hashed. When every slot is taken (the thread is behind, the walk
// being faster than sha256 for a while), the serving thread waits for one: the thread frees a
// slot per chunk hashed, so about as long as hashing the chunk itself would have taken. If none
// comes back within WAIT_MS (the thread is stuck or starved), the NAR gives up its layout, and
// a later download records it.
//
// The thread starts with the first NAR and ends once idle: a server whose layouts are recorded
// holds no thread. NARs begun while it starts (~30 ms) are hashed on the serving thread, as
// they were before it.

import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";
import { NAR_CHUNK_BYTES } from "../nar/chunks.ts";

const WORKER = new URL("./hash-worker.js", import.meta.url);
/** Chunks that may wait to be hashed: 8 MiB, shared with the thread. */
const SLOTS = 16;
const SLOT_BYTES = NAR_CHUNK_BYTES;
/** How long the serving thread waits for a slot before the NAR gives up its layout. */
const WAIT_MS = 100;
/** How long the thread waits for another NAR before it ends. */
const IDLE_MS = 2000;

export interface NarHashing {
  /** Hashes `chunk` (copied: it may be reused at once); false, and the NAR dropped, if not. */
  update(chunk: Buffer): boolean;
  /** The sha256 of the chunks given, or undefined when it could not be computed. */
  digest(): Promise<Buffer | undefined>;
  /** Drops the NAR; after `digest`, does nothing. */
  cancel(): void;
}

type FromWorker =
  | { readonly kind: "ready" }
  | { readonly kind: "digest"; readonly id: number; readonly digest: Uint8Array };

interface Running {
  readonly worker: Worker;
  ready: boolean;
  readonly memory: Uint8Array;
  /** A flag per slot (1: lent to the thread), then how many slots it has handed back. */
  readonly lent: Int32Array;
  /** Slots this side may fill. */
  readonly free: number[];
}

export class HashThread {
  readonly #idleMs: number;
  #thread: Running | undefined;
  #nextId = 0;
  /** NARs given to the thread and not yet ended or dropped. */
  #open = 0;
  readonly #digests = new Map<number, (digest: Buffer | undefined) => void>();
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(idleMs = IDLE_MS) {
    this.#idleMs = idleMs;
  }

  /** Whether NARs go to the thread, or it starts, or it is not running (for tests). */
  get state(): "ready" | "starting" | "stopped" {
    if (this.#thread === undefined) return "stopped";
    return this.#thread.ready ? "ready" : "starting";
  }

  /** A NAR to hash: its chunks go to `update` in order, then `digest` or `cancel`. */
  begin(): NarHashing {
    const thread = this.#thread ?? this.#start();
    if (!thread.ready) return hashHere();
    clearTimeout(this.#idleTimer);
    const id = this.#nextId++;
    this.#open += 1;
    let state: "open" | "ended" | "dropped" = "open";
    const finish = (): void => {
      this.#open -= 1;
      this.#idleWhenDone();
    };
    const drop = (): void => {
      state = "dropped";
      if (this.#thread === thread) thread.worker.postMessage({ kind: "cancel", id });
      finish();
    };
    return {
      update: (chunk) => {
        if (state !== "open") return false;
        if (this.#thread !== thread || !send(thread, id, chunk)) {
          drop();
          return false;
        }
        return true;
      },
      digest: () => {
        if (state !== "open") return Promise.resolve(undefined);
        if (this.#thread !== thread) {
          drop();
          return Promise.resolve(undefined);
        }
        state = "ended";
        return new Promise((resolve) => {
          this.#digests.set(id, (digest) => {
            finish();
            resolve(digest);
          });
          thread.worker.postMessage({ kind: "end", id });
        });
      },
      cancel: () => {
        if (state === "open") drop();
      },
    };
  }

  #start(): Running {
    const slots = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
    const flags = new SharedArrayBuffer((SLOTS + 1) * Int32Array.BYTES_PER_ELEMENT);
    const worker = new Worker(WORKER, { workerData: { slots, flags, slotBytes: SLOT_BYTES } });
    // Hashing never keeps a stopping process alive.
    worker.unref();
    const thread: Running = {
      worker,
      ready: false,
      memory: new Uint8Array(slots),
      lent: new Int32Array(flags),
      free: Array.from({ length: SLOTS }, (_, slot) => slot),
    };
    worker.on("message", (message: FromWorker) => {
      if (this.#thread !== thread) return;
      if (message.kind === "ready") {
        thread.ready = true;
        this.#idleWhenDone();
        return;
      }
      const settle = this.#digests.get(message.id);
      this.#digests.delete(message.id);
      const { buffer, byteOffset, byteLength } = message.digest;
      settle?.(Buffer.from(buffer, byteOffset, byteLength));
    });
    const gone = (): void => {
      if (this.#thread !== thread) return;
      this.#thread = undefined;
      for (const settle of this.#digests.values()) settle(undefined);
      this.#digests.clear();
    };
    // An error is followed by "exit"; either way the NARs it held cannot be hashed.
    worker.on("error", gone);
    worker.on("exit", gone);
    this.#thread = thread;
    return thread;
  }

  #idleWhenDone(): void {
    if (this.#open > 0 || this.#thread === undefined) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      const thread = this.#thread;
      if (this.#open > 0 || thread === undefined) return;
      this.#thread = undefined;
      void thread.worker.terminate();
    }, this.#idleMs);
    this.#idleTimer.unref();
  }
}

/** Copies `chunk` into free slots for the thread; false when none came free in time. */
function send(thread: Running, id: number, chunk: Buffer): boolean {
  for (let offset = 0; offset < chunk.length; offset += SLOT_BYTES) {
    const slot = takeSlot(thread);
    if (slot === undefined) return false;
    const length = Math.min(SLOT_BYTES, chunk.length - offset);
    thread.memory.set(chunk.subarray(offset, offset + length), slot * SLOT_BYTES);
    Atomics.store(thread.lent, slot, 1);
    thread.worker.postMessage({ kind: "data", id, slot, length });
  }
  return true;
}

function takeSlot({ lent, free }: Running): number | undefined {
  const slot = free.pop();
  if (slot !== undefined) return slot;
  const deadline = performance.now() + WAIT_MS;
  for (;;) {
    const returned = Atomics.load(lent, SLOTS);
    // `free` is empty here: every slot handed back is free again.
    for (let i = 0; i < SLOTS; i++) {
      if (Atomics.load(lent, i) === 0) free.push(i);
    }
    const found = free.pop();
    if (found !== undefined) return found;
    const left = deadline - performance.now();
    if (left <= 0) return undefined;
    // Wakes when the thread hands a slot back (it counts them), or at the deadline.
    Atomics.wait(lent, SLOTS, returned, left);
  }
}

/** A NAR hashed on the serving thread, while the thread starts. */
function hashHere(): NarHashing {
  const hash = createHash("sha256");
  let ended = false;
  return {
    update: (chunk) => {
      if (!ended) hash.update(chunk);
      return !ended;
    },
    digest: () => {
      if (ended) return Promise.resolve(undefined);
      ended = true;
      return Promise.resolve(hash.digest());
    },
    cancel: () => {
      ended = true;
    },
  };
}
