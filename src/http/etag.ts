// Strong ETags for bodies named by a hash, and If-None-Match. A NAR (or a tarball, or a
// listing) never changes for a given NarHash, so its ETag is that hash, with the form (NAR,
// tar, ls) and the content coding appended: each representation has its own.

import type { ContentEncoding } from "./compression.ts";

const ENCODING_SUFFIX: Readonly<Record<ContentEncoding, string>> = {
  zstd: "-zst",
  br: "-br",
  gzip: "-gz",
};

/** `"<hash>"`, `"<hash>-zst"`, `"<hash>-tar-gz"`, ... */
export function hashEtag(
  hash: string,
  encoding: ContentEncoding | undefined,
  form: "" | "tar" | "ls" = "",
): string {
  const formSuffix = form === "" ? "" : `-${form}`;
  const encodingSuffix = encoding === undefined ? "" : ENCODING_SUFFIX[encoding];
  return `"${hash}${formSuffix}${encodingSuffix}"`;
}

/**
 * Whether an If-None-Match header matches `etag`, so that a 304 answers the request. The
 * comparison is weak (RFC 9110 §13.1.2): `W/"x"` matches `"x"`.
 */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((item) => item.trim().replace(/^W\//, "") === etag);
}
