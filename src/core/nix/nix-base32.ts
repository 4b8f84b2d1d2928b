// Nix's own base32: a 32-letter alphabet without e, o, u and t, and a bit order of its own
// (the least significant bits of the input come out last). It is not RFC 4648.

const NIX_BASE32_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz";

const letterValues: ReadonlyMap<string, number> = new Map(
  Array.from(NIX_BASE32_ALPHABET, (letter, value) => [letter, value]),
);

/** Length in letters of the nix-base32 form of `byteLength` bytes. */
export function nixBase32Length(byteLength: number): number {
  return Math.ceil((byteLength * 8) / 5);
}

export function encodeNixBase32(bytes: Uint8Array): string {
  let out = "";
  for (let n = nixBase32Length(bytes.length) - 1; n >= 0; n--) {
    const bit = n * 5;
    const i = Math.floor(bit / 8);
    const j = bit % 8;
    const low = (bytes[i] ?? 0) >> j;
    const high = i + 1 < bytes.length ? (bytes[i + 1] ?? 0) << (8 - j) : 0;
    out += NIX_BASE32_ALPHABET.charAt((low | high) & 0x1f);
  }
  return out;
}

/** Decodes nix-base32 into `byteLength` bytes, or returns undefined for a malformed string. */
export function decodeNixBase32(text: string, byteLength: number): Uint8Array | undefined {
  if (text.length !== nixBase32Length(byteLength)) return undefined;
  const bytes = new Uint8Array(byteLength);
  for (let n = 0; n < text.length; n++) {
    const value = letterValues.get(text[text.length - n - 1] ?? "");
    if (value === undefined) return undefined;
    const bit = n * 5;
    const i = Math.floor(bit / 8);
    const j = bit % 8;
    bytes[i] = (bytes[i] ?? 0) | ((value << j) & 0xff);
    const carry = value >> (8 - j);
    if (carry !== 0) {
      // Bits beyond the last byte mean the string is not the encoding of any value.
      if (i + 1 >= byteLength) return undefined;
      bytes[i + 1] = (bytes[i + 1] ?? 0) | carry;
    }
  }
  return bytes;
}

// Checked on every request (each URL's hashes): one compiled pattern per length is several
// times faster than looking the letters up one by one.
const patterns = new Map<number, RegExp>();

/** True when `text` is exactly `length` letters of the nix-base32 alphabet. */
export function isNixBase32(text: string, length: number): boolean {
  if (text.length !== length) return false;
  let pattern = patterns.get(length);
  if (pattern === undefined) {
    pattern = new RegExp(`^[${NIX_BASE32_ALPHABET}]{${length}}$`);
    patterns.set(length, pattern);
  }
  return pattern.test(text);
}
