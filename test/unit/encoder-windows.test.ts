// The window of each streaming encoder, read from the stream's own header: it bounds what
// each compressed stream holds in memory (300 slow readers of br NARs took 666 MiB with
// brotli's default window), and what a client needs to decode it.

import { brotliDecompressSync, zstdDecompressSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createEncoder } from "../../src/http/compression.ts";

const SETTINGS = { enable_compression: true, zstd: { level: 3 } };

async function encode(encoding: "zstd" | "br", input: Buffer): Promise<Buffer> {
  const encoder = createEncoder(encoding, SETTINGS);
  const parts: Buffer[] = [];
  encoder.on("data", (part: Buffer) => parts.push(part));
  const ended = new Promise((resolve) => encoder.once("end", resolve));
  encoder.end(input);
  await ended;
  return Buffer.concat(parts);
}

describe("streaming encoders", () => {
  const input = Buffer.concat([randomBytes(64 * 1024), Buffer.alloc(64 * 1024, "nix")]);

  it("write brotli with a 512 KiB window (WBITS 19)", async () => {
    const out = await encode("br", input);
    // RFC 7932, 9.1: a 1 bit, then 3 bits n: WBITS = 17 + n.
    const first = out[0] ?? 0;
    expect(first & 1).toBe(1);
    expect(17 + ((first >> 1) & 7)).toBe(19);
    expect(brotliDecompressSync(out).equals(input)).toBe(true);
  });

  it("write zstd with a 512 KiB window", async () => {
    const out = await encode("zstd", input);
    // RFC 8878, 3.1.1.1: magic, frame header descriptor, then (no single segment) the window
    // descriptor: 2^(10 + exponent), plus eighths of that by the mantissa.
    expect(out.readUInt32LE(0)).toBe(0xfd2fb528);
    const descriptor = out[4] ?? 0;
    expect(descriptor & 0x20).toBe(0);
    const windowDescriptor = out[5] ?? 0;
    const base = 2 ** (10 + (windowDescriptor >> 3));
    expect(base + (base / 8) * (windowDescriptor & 7)).toBe(512 * 1024);
    expect(zstdDecompressSync(out).equals(input)).toBe(true);
  });
});
