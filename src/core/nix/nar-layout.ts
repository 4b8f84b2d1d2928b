// A NAR's layout: the NAR with the contents of its large files cut out, and for each of them
// where it goes and which file of the store path holds it. Serving a NAR from its layout reads
// one file for the framing, the names and every small file, and opens only the large files:
// no directory listings and no per-file calls for the thousands of small files that make a
// NAR walk expensive. The large files' bytes still come from the store, so a layout costs a
// fraction of the NAR on disk (the benchmark closure: 13 %).
//
// On disk: the inline bytes, then the table, then a fixed-size footer, so that an entry is
// written front to back as the NAR streams and finished with what is known only at the end.
//
//   inline bytes   the NAR without the spans' contents
//   table          per span: NAR offset (u64), length (u64), path length (u32), path bytes
//   footer         magic "SFNARL01", NAR size (u64), inline bytes (u64), span count (u32),
//                  table bytes (u32), zero (u64)
//
// Integers are little-endian, as in the NAR itself.

const MAGIC = Buffer.from("SFNARL01");
export const FOOTER_BYTES = 40;
const SPAN_FIXED_BYTES = 20;
const SLASH = 0x2f;

/** A large file's contents within the NAR. */
export interface LayoutSpan {
  /** Where the contents start in the NAR. */
  readonly narOffset: number;
  /** The file's size: the contents' length. */
  readonly length: number;
  /** The file, relative to the store path (names as bytes); empty: the store path itself. */
  readonly path: Buffer;
}

export interface NarLayout {
  readonly narSize: number;
  /** Bytes of the NAR kept in the entry: everything but the spans' contents. */
  readonly inlineBytes: number;
  /** In NAR order, not overlapping. */
  readonly spans: readonly LayoutSpan[];
}

/** The table and footer that follow `inlineBytes` of inline data. */
export function encodeLayoutTrailer(layout: NarLayout): Buffer {
  const parts: Buffer[] = [];
  for (const span of layout.spans) {
    const fixed = Buffer.alloc(SPAN_FIXED_BYTES);
    fixed.writeBigUInt64LE(BigInt(span.narOffset), 0);
    fixed.writeBigUInt64LE(BigInt(span.length), 8);
    fixed.writeUInt32LE(span.path.length, 16);
    parts.push(fixed, span.path);
  }
  const table = Buffer.concat(parts);
  const footer = Buffer.alloc(FOOTER_BYTES);
  MAGIC.copy(footer, 0);
  footer.writeBigUInt64LE(BigInt(layout.narSize), 8);
  footer.writeBigUInt64LE(BigInt(layout.inlineBytes), 16);
  footer.writeUInt32LE(layout.spans.length, 24);
  footer.writeUInt32LE(table.length, 28);
  return Buffer.concat([table, footer]);
}

/** What the footer (the last FOOTER_BYTES of an entry of `fileSize` bytes) says. */
export interface LayoutFooter {
  readonly narSize: number;
  readonly inlineBytes: number;
  readonly spanCount: number;
  readonly tableBytes: number;
}

/** The footer, if it is ours and agrees with the file's size. */
export function decodeLayoutFooter(footer: Buffer, fileSize: number): LayoutFooter | undefined {
  if (footer.length !== FOOTER_BYTES || !footer.subarray(0, 8).equals(MAGIC)) return undefined;
  const narSize = Number(footer.readBigUInt64LE(8));
  const inlineBytes = Number(footer.readBigUInt64LE(16));
  const spanCount = footer.readUInt32LE(24);
  const tableBytes = footer.readUInt32LE(28);
  if (inlineBytes + tableBytes + FOOTER_BYTES !== fileSize) return undefined;
  return { narSize, inlineBytes, spanCount, tableBytes };
}

/**
 * The layout a table describes, or undefined when anything is off: spans out of order,
 * overlapping or past the NAR's end, lengths that do not add up with the inline bytes to the
 * NAR's size, or a path that could leave the store path (`..`, `.`, empty names, a leading
 * slash). The paths come from a file on disk, so they are checked as if a stranger wrote it.
 */
export function decodeLayoutTable(table: Buffer, footer: LayoutFooter): NarLayout | undefined {
  const spans: LayoutSpan[] = [];
  let offset = 0;
  let narEnd = 0;
  let spanBytes = 0;
  for (let i = 0; i < footer.spanCount; i++) {
    if (offset + SPAN_FIXED_BYTES > table.length) return undefined;
    const narOffset = Number(table.readBigUInt64LE(offset));
    const length = Number(table.readBigUInt64LE(offset + 8));
    const pathLength = table.readUInt32LE(offset + 16);
    offset += SPAN_FIXED_BYTES;
    if (offset + pathLength > table.length) return undefined;
    const path = table.subarray(offset, offset + pathLength);
    offset += pathLength;
    if (narOffset < narEnd || length <= 0 || narOffset + length > footer.narSize) return undefined;
    if (!isRelativeFilePath(path)) return undefined;
    spans.push({ narOffset, length, path });
    narEnd = narOffset + length;
    spanBytes += length;
  }
  if (offset !== table.length || footer.inlineBytes + spanBytes !== footer.narSize) {
    return undefined;
  }
  return { narSize: footer.narSize, inlineBytes: footer.inlineBytes, spans };
}

/** Empty (the store path itself), or names joined by `/`, none empty, `.` or `..`, no NUL. */
function isRelativeFilePath(path: Buffer): boolean {
  if (path.length === 0) return true;
  if (path.includes(0)) return false;
  let start = 0;
  while (start <= path.length) {
    let end = path.indexOf(SLASH, start);
    if (end === -1) end = path.length;
    const length = end - start;
    if (length === 0) return false;
    if (path[start] === 0x2e && (length === 1 || (length === 2 && path[start + 1] === 0x2e))) {
      return false;
    }
    start = end + 1;
  }
  return true;
}
