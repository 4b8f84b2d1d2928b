// Tarballs for machines without Nix: `GET /<hash>.tar` streams the store path as a tar archive
// (see store/store-path-tar.ts), compressed when the client asks, e.g. `curl --compressed`.
// Like a NAR, it never changes for a given path, so proxies may keep it.

import { narHashDigest } from "../../core/path-info.ts";
import { parseStoreHash } from "../../core/store-path.ts";
import { StorefrontError } from "../../errors.ts";
import { storePathTar } from "../../store/store-path-tar.ts";
import { validPathOnDisk } from "../../store/valid-path.ts";
import { chooseEncoding, sendEncoded, varyOnEncoding } from "../compression.ts";
import { hashEtag, ifNoneMatchMatches } from "../etag.ts";
import { IMMUTABLE, sendChunks } from "../respond.ts";
import type { Route } from "../router.ts";

export const tarRoute: Route = {
  name: "/<hash>.tar",
  pattern: /^\/([^/]*)\.tar$/,
  methods: ["GET"],
  handle: async ({ req, res, params, services }) => {
    const hash = parseStoreHash(params[0] ?? "");
    if (hash === undefined) throw new StorefrontError("bad_request", "malformed store hash");
    const { config, store } = services;
    const dirs = { virtual: config.virtual_nix_store, real: config.real_nix_store };
    const { info, baseName, realPath, stats } = await validPathOnDisk(store, dirs, hash);
    // A tar is at least 1 KiB (its end marker), so its size need not be known to compress it.
    const encoding = chooseEncoding(req, config);
    const etag = hashEtag(narHashDigest(info.narHash), encoding, "tar");

    res.setHeader("cache-control", IMMUTABLE);
    res.setHeader("etag", etag);
    varyOnEncoding(res, config);
    if (ifNoneMatchMatches(req.headers["if-none-match"], etag)) {
      res.writeHead(304);
      res.end();
      return;
    }
    res.setHeader("content-type", "application/x-tar");
    res.setHeader("content-disposition", `attachment; filename="${baseName}.tar"`);
    if (req.method === "HEAD") {
      res.writeHead(200);
      res.end();
      return;
    }
    const tar = storePathTar(realPath, stats, baseName);
    if (encoding === undefined) {
      res.writeHead(200);
      await sendChunks(res, tar);
    } else {
      await sendEncoded(res, tar, encoding, config);
    }
  },
};
