// Upload chunks are garbage once written, outside V8's heap: the staging directory has the
// young generation collected after every GARBAGE_BYTES_PER_COLLECTION of them (received and
// decoded), which keeps a push's memory near its idle level.

import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { zstdCompressSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { encodeNixBase32 } from "../../src/core/nix/nix-base32.ts";
import { parseNarHash32 } from "../../src/core/nix/store-path.ts";
import { youngCollector } from "../../src/process/collect-garbage.ts";
import { GARBAGE_BYTES_PER_COLLECTION, Staging } from "../../src/uploads/staging.ts";

const MIB = 1024 * 1024;
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function staging(collectYoung: () => void): Staging {
  const dir = mkdtempSync(join(tmpdir(), "storefront-garbage-"));
  dirs.push(dir);
  return new Staging(join(dir, "uploads"), { collectYoung });
}

/** `bytes` as an upload body in 64 KiB chunks, as the HTTP parser hands them over. */
function body(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += 64 * 1024) {
    chunks.push(bytes.subarray(offset, offset + 64 * 1024));
  }
  return Readable.from(chunks);
}

function fileHashOf(bytes: Buffer) {
  const hash = parseNarHash32(encodeNixBase32(createHash("sha256").update(bytes).digest()));
  if (hash === undefined) throw new Error("not a hash");
  return hash;
}

describe("uploads and the young generation", () => {
  it("collects after every 16 MiB received", async () => {
    let collections = 0;
    const uploads = staging(() => collections++);
    const nar = Buffer.alloc(40 * MIB, 7);
    const staged = await uploads.receive(body(nar), fileHashOf(nar), "none", 64 * MIB);
    expect(staged.narSize).toBe(40 * MIB);
    expect(collections).toBe(Math.floor((40 * MIB) / GARBAGE_BYTES_PER_COLLECTION));
  });

  it("counts the decoded chunks of a compressed upload too", async () => {
    let collections = 0;
    const uploads = staging(() => collections++);
    const nar = Buffer.alloc(40 * MIB, 7);
    const compressed = zstdCompressSync(nar);
    const staged = await uploads.receive(
      body(compressed),
      fileHashOf(compressed),
      "zstd",
      64 * MIB,
    );
    expect(staged.narSize).toBe(40 * MIB);
    const passed = compressed.length + nar.length;
    expect(collections).toBe(Math.floor(passed / GARBAGE_BYTES_PER_COLLECTION));
    expect(readdirSync(uploads.dir).filter((name) => name.endsWith(".part"))).toEqual([]);
  });

  it("frees buffers that died young", async () => {
    const collect = youngCollector();
    expect(collect).toBeDefined();
    // Garbage V8 has no reason to collect yet: 12.5 MiB outside its heap, far below the
    // external memory that starts a collection by itself.
    for (let i = 0; i < 200; i++) Buffer.allocUnsafeSlow(64 * 1024).fill(1);
    const before = process.memoryUsage().arrayBuffers;
    collect?.();
    // The buffers are freed by a sweep that may end after the collection returns.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(before - 10 * MIB);
  });
});
