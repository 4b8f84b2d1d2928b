// How a NAR is answered once its store path is known: conditional requests (ETag), one byte
// range and transport compression. Where its bytes come from (a walk, a layout, the cache of
// zstd-compressed NARs) is the store's choice (store/nar/nar-body.ts). Every form of the
// answer carries the same validators and caching headers, so that a proxy in front can keep it.

import { narHashDigest } from "../core/nix/path-info.ts";
import { StorefrontError } from "../errors.ts";
import type { ValidPathOnDisk } from "../store/nar/valid-path.ts";
import { narBody } from "../store/nar-body.ts";
import type { StoreBody } from "../store/nar/body.ts";
import type { NarWindow } from "../store/nar/chunks.ts";
import type { Reply } from "./answer.ts";
import { acceptsIdentity } from "./accept-encoding.ts";
import { compressLater } from "./compress-later.ts";
import { chooseEncoding, encodedHeaders, varyOnEncoding, writeEncoded } from "./compression.ts";
import { hashEtag, ifNoneMatchMatches } from "./etag.ts";
import { contentRange, parseRange, unsatisfiedRange, type RangeRequest } from "./ranges.ts";
import { IMMUTABLE, sendChunks } from "./respond.ts";
import type { RequestContext } from "./router.ts";

const NAR_TYPE = "application/x-nix-archive";

/** What answering with a NAR uses. */
export type NarResponseUses = "config" | "narCache" | "narLayouts" | "log";

/**
 * Answers with the NAR of a valid path whose files are on disk, through `reply` (the body only
 * for a GET: see answer.ts).
 */
export async function sendNar(
  { req, res, services }: RequestContext<NarResponseUses>,
  path: ValidPathOnDisk,
  reply: Reply,
): Promise<void> {
  const { config } = services;
  const narHash32 = narHashDigest(path.info.narHash);
  const size = path.info.narSize;
  const ifRange = req.headers["if-range"];
  const range = requestedRange(
    req.headers.range,
    typeof ifRange === "string" ? ifRange : undefined,
    narHash32,
    size,
  );
  const encoding = range.kind === "whole" ? chooseEncoding(req, config, size) : undefined;
  const etag = hashEtag(narHash32, encoding);

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
  if (encoding === undefined) {
    await sendPlain(res, services, path, range.kind === "partial" ? range.range : undefined, reply);
    return;
  }
  // A NAR not compressed yet goes out as it is, unless the client refuses that: on a fast
  // link the plain NAR arrives sooner than one compressed as it goes (compress-later.ts).
  const acceptEncoding = req.headers["accept-encoding"];
  const onMiss = acceptsIdentity(acceptEncoding) ? "later" : "now";
  const nar = await narBody(services, path, undefined, encoding, onMiss);
  if (nar.compressed) {
    // A static file: its length is known, unlike a NAR compressed as it goes out.
    const { body } = nar;
    await reply({
      status: 200,
      headers: { ...encodedHeaders(encoding), "content-length": nar.length },
      body: () => sendChunks(res, body.chunks, body.written),
    });
    return;
  }
  if (nar.missed === true) {
    const { narCache } = services;
    res.setHeader("etag", hashEtag(narHash32, undefined));
    await sendPlain(res, services, path, undefined, reply, nar.body);
    // After the download, whole: its layout is recorded by then, and the two do not share a
    // core. A client that went away mid-NAR costs no further reading.
    const whole = res.writableEnded && !res.destroyed;
    if (whole && narCache !== undefined) compressLater({ ...services, narCache }, path, config);
    return;
  }
  const { body, keep } = nar;
  try {
    await reply({
      status: 200,
      headers: encodedHeaders(encoding),
      body: async () => {
        const whole = await writeEncoded(res, body.chunks, encoding, config, {
          tee: keep?.tee(),
          release: body.written,
        });
        await (whole ? keep?.commit() : keep?.abort());
      },
    });
  } catch (error) {
    await keep?.abort();
    throw error;
  }
}

/**
 * The NAR as it is, or one range of it: its length is known up front. `made` is the whole
 * NAR's body when the caller has it already.
 */
async function sendPlain(
  res: RequestContext["res"],
  services: RequestContext<NarResponseUses>["services"],
  path: ValidPathOnDisk,
  window: NarWindow | undefined,
  reply: Reply,
  made?: StoreBody,
): Promise<void> {
  const size = path.info.narSize;
  const body = async (): Promise<void> => {
    const nar = made ?? (await narBody(services, path, window, undefined)).body;
    await sendChunks(res, nar.chunks, nar.written);
  };
  await (window === undefined
    ? reply({ status: 200, headers: { "content-length": size }, body })
    : reply({
        status: 206,
        headers: {
          "content-range": contentRange(window, size),
          "content-length": window.end - window.start,
        },
        body,
      }));
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
