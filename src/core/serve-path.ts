// The file part of a `/serve/<hash>-<name>/<path>` URL, decoded into file name bytes. Names are
// bytes on disk, so percent-escapes decode to bytes, not to text. Anything that could name a
// file outside the path as written is refused here, before the disk is touched: `.` and `..`
// segments (also encoded), NUL, and an encoded `/`.

/** Longest name a Linux file system allows. */
const NAME_MAX = 255;
/** Longest file path part accepted; PATH_MAX on Linux. */
const PATH_MAX = 4096;

export interface ServePath {
  /** Decoded names, in order; empty for the store path itself. */
  readonly segments: readonly Buffer[];
  /** The URL ends in `/`: it names a directory. */
  readonly trailingSlash: boolean;
}

const ESCAPED_SEGMENT = /^(?:[^%]|%[0-9A-Fa-f]{2})+$/;
const DOT = Buffer.from(".");
const DOT_DOT = Buffer.from("..");

/** `rest` is the raw URL path after `<hash>-<name>`: empty, or starting with `/`. */
export function parseServePath(rest: string): ServePath | undefined {
  if (rest === "") return { segments: [], trailingSlash: false };
  if (!rest.startsWith("/") || rest.length > PATH_MAX) return undefined;
  const raw = rest.slice(1).split("/");
  const trailingSlash = raw[raw.length - 1] === "";
  if (trailingSlash) raw.pop();
  const segments: Buffer[] = [];
  for (const text of raw) {
    if (!ESCAPED_SEGMENT.test(text)) return undefined;
    const name = percentDecode(text);
    if (
      name.length > NAME_MAX ||
      name.includes(0) ||
      name.includes(0x2f) ||
      name.equals(DOT) ||
      name.equals(DOT_DOT)
    ) {
      return undefined;
    }
    segments.push(name);
  }
  return { segments, trailingSlash };
}

/** The bytes of an escaped segment: `%XX` as a byte, other characters as their UTF-8. */
function percentDecode(text: string): Buffer {
  const parts = text.split(/(%[0-9A-Fa-f]{2})/);
  return Buffer.concat(
    parts.map((part) =>
      part.startsWith("%") && part.length === 3
        ? Buffer.of(parseInt(part.slice(1), 16))
        : Buffer.from(part, "utf8"),
    ),
  );
}

/** A file name as a URL path segment: bytes outside the unreserved set percent-encoded. */
export function encodeSegment(name: Buffer): string {
  let text = "";
  for (const byte of name) {
    const char = String.fromCharCode(byte);
    text += /[A-Za-z0-9\-._~]/.test(char)
      ? char
      : "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return text;
}
