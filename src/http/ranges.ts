// HTTP Range requests (RFC 9110 §14), for resuming NAR downloads. One byte range is honoured;
// a request for several is answered with the whole body, which the RFC allows and which spares
// us multipart/byteranges. Pure: no I/O, tested on plain values.

/** Bytes `start` up to, not including, `end`. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export type RangeRequest =
  /** No Range header, one we ignore (malformed, not bytes, several ranges): send it all. */
  | { readonly kind: "whole" }
  /** One satisfiable range: a 206 with these bytes. */
  | { readonly kind: "partial"; readonly range: ByteRange }
  /** A well-formed range that starts at or past the end: a 416. */
  | { readonly kind: "unsatisfiable" };

const WHOLE: RangeRequest = { kind: "whole" };
const UNSATISFIABLE: RangeRequest = { kind: "unsatisfiable" };

/** `bytes=a-b`, `bytes=a-` or `bytes=-n`, with the optional whitespace the RFC allows. */
const SINGLE_RANGE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;

/**
 * What a `Range` header asks of a body of `size` bytes. A malformed header is ignored, as the
 * RFC says, rather than refused: a client that sent it still gets the body.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return WHOLE;
  const match = SINGLE_RANGE.exec(header);
  if (match === null) return WHOLE;
  const first = match[1] ?? "";
  const last = match[2] ?? "";
  if (first === "") {
    // A suffix: the last n bytes. `bytes=-0` asks for nothing, which nothing satisfies.
    if (last === "") return WHOLE;
    const length = Number(last);
    if (length === 0) return UNSATISFIABLE;
    return { kind: "partial", range: { start: Math.max(0, size - length), end: size } };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return WHOLE; // `bytes=5-2` is malformed: ignore it.
  if (start >= size) return UNSATISFIABLE;
  const end = last === "" ? size : Math.min(Number(last) + 1, size);
  return { kind: "partial", range: { start, end } };
}

/** The Content-Range of a 206. */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end - 1}/${size}`;
}

/** The Content-Range of a 416. */
export function unsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}
