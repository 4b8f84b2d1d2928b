// The thread of hash-thread.ts: the sha256 of each NAR it is sent, chunk by chunk, read from
// the slots of memory it shares with the serving thread. Plain JavaScript, so that starting it
// never loads Node's type stripper (~17 MiB for the thread's life); it needs nothing else of
// storefront's.
//
// Messages, in order per NAR: { kind: "data", id, slot, length }, a chunk in `slot`, which is
// handed back by clearing its flag once hashed; then { kind: "end", id }, answered with
// { kind: "digest", id, digest }; or { kind: "cancel", id }.

import { createHash } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";

const { slots, flags, slotBytes } = workerData;
const memory = new Uint8Array(slots);
/** One flag per slot (1: holds a chunk to hash), then a count of the slots handed back. */
const lent = new Int32Array(flags);
const returned = lent.length - 1;
/** @type {Map<number, import("node:crypto").Hash>} */
const hashes = new Map();
const port = parentPort;

port?.on("message", (message) => {
  const { kind, id } = message;
  if (kind === "data") {
    let hash = hashes.get(id);
    if (hash === undefined) {
      hash = createHash("sha256");
      hashes.set(id, hash);
    }
    const start = message.slot * slotBytes;
    hash.update(memory.subarray(start, start + message.length));
    Atomics.store(lent, message.slot, 0);
    Atomics.add(lent, returned, 1);
    Atomics.notify(lent, returned);
  } else if (kind === "end") {
    const digest = (hashes.get(id) ?? createHash("sha256")).digest();
    hashes.delete(id);
    port.postMessage({ kind: "digest", id, digest });
  } else if (kind === "cancel") {
    hashes.delete(id);
  }
});
port?.postMessage({ kind: "ready" });
