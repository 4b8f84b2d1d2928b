// The NAR format's framing. Every string is a little-endian u64 length, the bytes, and zero
// padding to a multiple of 8. A file's contents are framed the same way, so the framing of a
// file is known from its size alone and the contents can be copied in between.

function frameString(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  return Buffer.concat([lengthPrefix(bytes.length), bytes, padding(bytes.length)]);
}

export function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(length));
  return prefix;
}

const ZEROS = Buffer.alloc(8);

/** Zero bytes that pad `length` bytes to a multiple of 8. */
export function padding(length: number): Buffer {
  return ZEROS.subarray(0, (8 - (length % 8)) % 8);
}

/** Bytes that `bytes` take in a NAR: prefix, bytes and padding. */
export function framedLength(length: number): number {
  return 8 + length + ((8 - (length % 8)) % 8);
}

function frame(...tokens: string[]): Buffer {
  return Buffer.concat(tokens.map(frameString));
}

/** Bytes that start a NAR. */
export const NAR_MAGIC = frameString("nix-archive-1");
/** Before a regular file's contents prefix. */
export const REGULAR_OPEN = frame("(", "type", "regular", "contents");
export const EXECUTABLE_OPEN = frame("(", "type", "regular", "executable", "", "contents");
export const SYMLINK_OPEN = frame("(", "type", "symlink", "target");
export const DIRECTORY_OPEN = frame("(", "type", "directory");
/** Before an entry's name. */
export const ENTRY_OPEN = frame("entry", "(", "name");
/** Between an entry's name and its node. */
export const ENTRY_NODE = frame("node");
/** Closes a node; closes an entry after its node. */
export const CLOSE = frame(")");

/** A byte string framed for a NAR (a name or a symlink target). */
export function framedBytes(bytes: Buffer): Buffer {
  return Buffer.concat([lengthPrefix(bytes.length), bytes, padding(bytes.length)]);
}
