// NARs, made on the fly from the store path's files, under the three URL forms in use:
//   nar/<narhash>.nar?hash=<outhash>   harmonia, and what our narinfos say
//   nar/<outhash>-<narhash>.nar        nix-serve
//   nar/<outhash>.nar                  older nix-serve
// A client that switched from either server keeps working with the URLs it has cached.

import { lstat } from "node:fs/promises";
import { narHashDigest } from "../../core/path-info.ts";
import { parseNarHash32, parseStoreHash, storePathBaseName } from "../../core/store-path.ts";
import { StorefrontError, isMissingFileError } from "../../errors.ts";
import { releaseChunk } from "../../store/nar-chunks.ts";
import { narStream } from "../../store/nar-stream.ts";
import { IMMUTABLE, sendChunks } from "../respond.ts";
import type { RequestContext, Route } from "../router.ts";

async function serveNar(
  { req, res, services: { config, store } }: RequestContext,
  outHashText: string,
  narHashText: string | undefined,
): Promise<void> {
  const outHash = parseStoreHash(outHashText);
  const narHash = narHashText === undefined ? undefined : parseNarHash32(narHashText);
  if (outHash === undefined || (narHashText !== undefined && narHash === undefined)) {
    throw new StorefrontError("bad_request", "malformed hash in NAR URL");
  }
  const info = store.pathInfo(outHash);
  if (info === undefined) throw new StorefrontError("not_found", `no valid path ${outHash}`);
  if (narHash !== undefined && narHashDigest(info.narHash) !== narHash) {
    throw new StorefrontError("not_found", `${outHash} has another NAR hash`);
  }
  const baseName = storePathBaseName(config.virtual_nix_store, info.storePath);
  if (baseName === undefined)
    throw new StorefrontError("internal", `odd store path ${info.storePath}`);
  const realPath = `${config.real_nix_store}/${baseName}`;
  try {
    await lstat(realPath);
  } catch (error) {
    if (isMissingFileError(error)) {
      throw new StorefrontError("not_found", `${realPath} is registered but gone from disk`);
    }
    throw error;
  }
  res.writeHead(200, {
    "content-type": "application/x-nix-archive",
    "content-length": info.narSize,
    "cache-control": IMMUTABLE,
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  await sendChunks(res, narStream(realPath, info.narSize), releaseChunk);
}

export const narRoutes: readonly Route[] = [
  {
    name: "/nar/<narhash>.nar",
    pattern: /^\/nar\/([^/.?-]{52})\.nar$/,
    methods: ["GET"],
    handle: (context) => {
      const outHash = context.query.get("hash");
      if (outHash === null) throw new StorefrontError("not_found", "NAR URL without ?hash=");
      return serveNar(context, outHash, context.params[0]);
    },
  },
  {
    name: "/nar/<outhash>-<narhash>.nar",
    pattern: /^\/nar\/([^/.?-]{32})-([^/.?-]{52})\.nar$/,
    methods: ["GET"],
    handle: (context) => serveNar(context, context.params[0] ?? "", context.params[1]),
  },
  {
    name: "/nar/<outhash>.nar",
    pattern: /^\/nar\/([^/.?-]{32})\.nar$/,
    methods: ["GET"],
    handle: (context) => serveNar(context, context.params[0] ?? "", undefined),
  },
];
