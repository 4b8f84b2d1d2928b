// The worker protocol's wire format, writing side (Nix's `serialise.hh`): every number is a u64,
// little-endian, booleans included; a string is its byte length, its bytes, and zeros up to a
// multiple of 8; a list is its count, then its items. Pure: bytes in, bytes out.

export function encodeU64(value: number | bigint | boolean): Buffer {
  const big = typeof value === "boolean" ? (value ? 1n : 0n) : BigInt(value);
  if (big < 0n || big > 0xffff_ffff_ffff_ffffn) {
    throw new RangeError(`${String(value)} does not fit in a u64`);
  }
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(big);
  return bytes;
}

/** Zeros that bring `length` bytes up to a multiple of 8. */
export function paddingFor(length: number): Buffer {
  return Buffer.alloc((8 - (length % 8)) % 8);
}

/** A string as Nix sends it; text is sent as UTF-8. */
export function encodeString(value: string | Uint8Array): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
  return Buffer.concat([encodeU64(bytes.length), bytes, paddingFor(bytes.length)]);
}

export function encodeStrings(values: Iterable<string>): Buffer {
  const items = [...values];
  return Buffer.concat([encodeU64(items.length), ...items.map((item) => encodeString(item))]);
}

/** A request put together field by field, sent as one buffer. */
export class WireWriter {
  readonly #parts: Buffer[] = [];

  u64(value: number | bigint | boolean): this {
    this.#parts.push(encodeU64(value));
    return this;
  }

  string(value: string | Uint8Array): this {
    this.#parts.push(encodeString(value));
    return this;
  }

  strings(values: Iterable<string>): this {
    this.#parts.push(encodeStrings(values));
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

// Framed data (from protocol 1.23 on, for NARs and logs): chunks each preceded by their length,
// with no padding, and a zero length at the end. The daemon reads every frame up to the end even
// when it fails part way, which keeps the connection in step.

/** Nix's own sink sends 32 KiB frames; larger ones make the daemon allocate a frame at a time. */
export const MAX_FRAME = 64 * 1024;

export const FRAME_END = encodeU64(0);

/** One chunk of data as frames (a length, then the bytes), split at `maxFrame`. */
export function frames(chunk: Uint8Array, maxFrame = MAX_FRAME): Buffer[] {
  const result: Buffer[] = [];
  const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  for (let offset = 0; offset < bytes.length; offset += maxFrame) {
    const piece = bytes.subarray(offset, Math.min(offset + maxFrame, bytes.length));
    result.push(encodeU64(piece.length), piece);
  }
  return result;
}
