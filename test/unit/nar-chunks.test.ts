// NAR chunk buffers are reused once released, and only then: a chunk handed to two downloads
// at once would mix their bytes.

import { describe, expect, it } from "vitest";
import { NAR_CHUNK_BYTES, NarChunks, releaseChunk } from "../../src/store/nar/chunks.ts";

/** A NAR of two full chunks, filled with `byte`: returns both chunks. */
function twoChunks(byte: number): [Buffer, Buffer] {
  const chunks = new NarChunks(2 * NAR_CHUNK_BYTES);
  chunks.put(Buffer.alloc(2 * NAR_CHUNK_BYTES, byte));
  const [first] = [...chunks.drain()];
  if (first === undefined) throw new Error("no full chunk");
  return [first, chunks.finish()];
}

function currentBuffer(chunks: NarChunks): ArrayBufferLike {
  return chunks.reserve().buffer.buffer;
}

describe("NAR chunk reuse", () => {
  it("hands a released chunk to the next NAR", () => {
    const [first] = twoChunks(1);
    releaseChunk(first);
    expect(currentBuffer(new NarChunks(NAR_CHUNK_BYTES))).toBe(first.buffer);
  });

  it("hands a chunk released twice to one NAR only", () => {
    const [first, second] = twoChunks(2);
    releaseChunk(first);
    releaseChunk(first);
    releaseChunk(second);
    const a = currentBuffer(new NarChunks(NAR_CHUNK_BYTES));
    const b = currentBuffer(new NarChunks(NAR_CHUNK_BYTES));
    const c = currentBuffer(new NarChunks(NAR_CHUNK_BYTES));
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it("never reuses a chunk that was not released", () => {
    const [first, second] = twoChunks(3);
    const next = currentBuffer(new NarChunks(NAR_CHUNK_BYTES));
    expect(next).not.toBe(first.buffer);
    expect(next).not.toBe(second.buffer);
    expect(first.every((byte) => byte === 3)).toBe(true);
  });

  it("ignores buffers it did not make", () => {
    const foreign = Buffer.alloc(NAR_CHUNK_BYTES);
    releaseChunk(foreign);
    expect(currentBuffer(new NarChunks(NAR_CHUNK_BYTES))).not.toBe(foreign.buffer);
  });

  it("keeps the last, shorter chunk of a NAR exactly as long as the NAR", () => {
    const chunks = new NarChunks(NAR_CHUNK_BYTES + 100);
    chunks.put(Buffer.alloc(NAR_CHUNK_BYTES + 100, 4));
    expect([...chunks.drain()].map((c) => c.length)).toEqual([NAR_CHUNK_BYTES]);
    expect(chunks.finish().length).toBe(100);
  });
});
