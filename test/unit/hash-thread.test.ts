// The hash thread (store/nar-cache/hash-thread.ts): the digests it gives are sha256's, whether
// the NAR was hashed there or, while it started, on the calling thread; a NAR larger than its
// shared slots waits for them rather than failing; a dropped NAR gives no digest; and the thread
// ends once idle, and starts again for the next NAR.

import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { HashThread, type NarHashing } from "../../src/store/nar-cache/hash-thread.ts";
import { NAR_CHUNK_BYTES } from "../../src/store/nar/chunks.ts";
import { waitFor } from "../support/wait.ts";

const sha256 = (chunks: readonly Buffer[]): Buffer => {
  const hash = createHash("sha256");
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest();
};

/** Chunks as the walk gives them: full ones from a reused buffer, then a short last one. */
function chunksOf(bytes: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes; offset += NAR_CHUNK_BYTES) {
    chunks.push(randomBytes(Math.min(NAR_CHUNK_BYTES, bytes - offset)));
  }
  return chunks;
}

/** Gives every chunk through one reused buffer, as the NAR chunk pool reuses its chunks. */
function feed(hashing: NarHashing, chunks: readonly Buffer[]): boolean {
  const reused = Buffer.alloc(NAR_CHUNK_BYTES);
  for (const chunk of chunks) {
    chunk.copy(reused);
    if (!hashing.update(reused.subarray(0, chunk.length))) return false;
    reused.fill(0);
  }
  return true;
}

/** A thread that NARs go to: the first NAR starts it (and is hashed here meanwhile). */
async function startedThread(idleMs = 60_000): Promise<HashThread> {
  const thread = new HashThread(idleMs);
  thread.begin().cancel();
  await waitFor(() => thread.state === "ready", "the hash thread");
  return thread;
}

describe("the hash thread", () => {
  it("gives sha256 of chunks copied as given, the first NAR hashed while it starts", async () => {
    const thread = new HashThread();
    const first = chunksOf(3 * NAR_CHUNK_BYTES + 17);
    const hashing = thread.begin();
    expect(feed(hashing, first)).toBe(true);
    expect(thread.state).toBe("starting");
    expect(await hashing.digest()).toEqual(sha256(first));
  });

  it("hashes NARs larger than its slots, several at once, on the thread", async () => {
    const thread = await startedThread();
    const nars = [chunksOf(40 * NAR_CHUNK_BYTES), chunksOf(5), chunksOf(20 * NAR_CHUNK_BYTES + 1)];
    const hashings = nars.map(() => thread.begin());
    nars.forEach((chunks, i) => {
      expect(feed(hashings[i] as NarHashing, chunks)).toBe(true);
    });
    const digests = await Promise.all(hashings.map((hashing) => hashing.digest()));
    expect(digests).toEqual(nars.map(sha256));
  });

  it("gives a chunk larger than a slot in parts", async () => {
    const thread = await startedThread();
    const big = randomBytes(2 * NAR_CHUNK_BYTES + 5);
    const hashing = thread.begin();
    expect(hashing.update(big)).toBe(true);
    expect(await hashing.digest()).toEqual(sha256([big]));
  });

  it("gives no digest for a NAR dropped, and goes on with the others", async () => {
    const thread = await startedThread();
    const dropped = thread.begin();
    const kept = thread.begin();
    const chunks = chunksOf(3 * NAR_CHUNK_BYTES);
    feed(dropped, chunks);
    dropped.cancel();
    expect(dropped.update(Buffer.from("more"))).toBe(false);
    expect(await dropped.digest()).toBeUndefined();
    feed(kept, chunks);
    expect(await kept.digest()).toEqual(sha256(chunks));
  });

  it("ends once idle, and starts again for the next NAR", async () => {
    const thread = await startedThread(50);
    await waitFor(() => thread.state === "stopped", "the idle thread to end");
    thread.begin().cancel();
    await waitFor(() => thread.state === "ready", "the thread to start again");
    const chunks = chunksOf(NAR_CHUNK_BYTES + 3);
    const hashing = thread.begin();
    feed(hashing, chunks);
    expect(await hashing.digest()).toEqual(sha256(chunks));
  });
});
