// How a NAR is answered once its store path is known: conditional requests (ETag), one byte
// range, transport compression, and the cache of zstd-compressed NARs. Every form of the
// answer carries the same validators and caching headers, so that a proxy in front can keep it.

import { narHashDigest } from "../core/nix/path-info.ts";
import { StorefrontError } from "../errors.ts";
import { releaseChunk } from "../store/nar-chunks.ts";
import type { NarWindow } from "../store/nar-chunks.ts";
import { narStream } from "../store/nar-stream.ts";
import type { ValidPathOnDisk } from "../store/valid-path.ts";
import { wholeNar } from "../store/whole-nar.ts";
import { chooseEncoding, sendEncoded, varyOnEncoding } from "./compression.ts";
import { hashEtag, ifNoneMatchMatches } from "./etag.ts";
import { contentRange, parseRange, unsatisfiedRange, type RangeRequest } from "./ranges.ts";
import { IMMUTABLE, sendChunks } from "./respond.ts";
import type { RequestContext } from "./router.ts";

const NAR_TYPE = "application/x-nix-archive";

/** What answering with a NAR uses. */
export type NarResponseUses = "config" | "narCache" | "narLayouts" | "log";

/** Answers GET or HEAD for the NAR of a valid path whose files are on disk. */
export async function sendNar(
  { req, res, services }: RequestContext<NarResponseUses>,
  { info, realPath, stats, assertUnchanged }: ValidPathOnDisk,
): Promise<void> {
  const { config, narCache, narLayouts, log } = services;
  const narHash32 = narHashDigest(info.narHash);
  const size = info.narSize;
  const ifRange = req.headers["if-range"];
  const range = requestedRange(
    req.headers.range,
    typeof ifRange === "string" ? ifRange : undefined,
    narHash32,
    size,
  );
  const encoding = range.kind === "whole" ? chooseEncoding(req, config, size) : undefined;
  const etag = hashEtag(narHash32, encoding);
  // The walk starts from the lstat that found the path on disk: no second one. A whole NAR
  // comes from its cached layout when there is one. Neither gives its last byte unless the
  // store path is still the one found (whole-nar.ts): a range is not hashed, so it checks
  // the registration and the path's top, as a NAR from a layout does.
  const nar = (window?: NarWindow): Generator<Buffer> =>
    window === undefined
      ? wholeNar(narLayouts, { narHash32, narSize: size, realPath, stats, assertUnchanged })
      : narStream(realPath, size, window, { top: stats, beforeLast: assertUnchanged });

  res.setHeader("content-type", NAR_TYPE);
  res.setHeader("cache-control", IMMUTABLE);
  res.setHeader("etag", etag);
  // Nix resumes a download only from a server that says it takes ranges.
  res.setHeader("accept-ranges", "bytes");
  varyOnEncoding(res, config);

  if (ifNoneMatchMatches(req.headers["if-none-match"], etag)) {
    res.removeHeader("content-type");
    res.writeHead(304);
    res.end();
    return;
  }
  if (range.kind === "unsatisfiable") {
    res.setHeader("content-range", unsatisfiedRange(size));
    throw new StorefrontError("range_not_satisfiable", `range ${req.headers.range ?? ""}`);
  }
  if (range.kind === "partial") {
    res.writeHead(206, {
      "content-range": contentRange(range.range, size),
      "content-length": range.range.end - range.range.start,
    });
    if (req.method === "HEAD") res.end();
    else await sendChunks(res, nar(range.range), releaseChunk);
    return;
  }
  if (encoding === undefined) {
    res.writeHead(200, { "content-length": size });
    if (req.method === "HEAD") res.end();
    else await sendChunks(res, nar(), releaseChunk);
    return;
  }
  if (encoding !== "zstd" || narCache === undefined) {
    await sendEncoded(res, nar(), encoding, config, { release: releaseChunk });
    return;
  }
  const cached = narCache.open(narHash32, size);
  if (cached !== undefined) {
    log.debug("NAR from the compressed cache", { narHash: narHash32, hits: narCache.hits });
    // A static file: its length is known, unlike a NAR compressed as it goes out.
    res.writeHead(200, { "content-encoding": encoding, "content-length": cached.length });
    await sendChunks(res, cached.body, releaseChunk);
    return;
  }
  // Compress once for this client and keep the result for the next ones.
  const writer = await narCache.startWrite(narHash32, size);
  try {
    const whole = await sendEncoded(res, nar(), encoding, config, {
      tee: writer?.tee(),
      release: releaseChunk,
    });
    await (whole ? writer?.commit() : writer?.abort());
  } catch (error) {
    await writer?.abort();
    throw error;
  }
}

/**
 * The Range to honour. With If-Range, only when it names the plain NAR's ETag (a range of one
 * representation must not be spliced onto another); a date there is never a match, as NARs
 * carry no Last-Modified.
 */
function requestedRange(
  range: string | undefined,
  ifRange: string | undefined,
  narHash32: string,
  size: number,
): RangeRequest {
  if (range === undefined) return { kind: "whole" };
  if (ifRange !== undefined && ifRange.trim() !== hashEtag(narHash32, undefined)) {
    return { kind: "whole" };
  }
  return parseRange(range, size);
}
