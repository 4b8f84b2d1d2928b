// `/<hash>.ls`: the JSON listing of a store path's files, as `nix store ls --json --recursive`
// prints it, for tools that browse a cache without downloading NARs.

import { renderListing } from "../../core/nar-listing.ts";
import { narHashDigest } from "../../core/path-info.ts";
import { parseStoreHash } from "../../core/store-path.ts";
import { StorefrontError } from "../../errors.ts";
import { readListing } from "../../store/file-listing.ts";
import { validPathOnDisk } from "../../store/valid-path.ts";
import { chooseEncoding, sendEncoded, varyOnEncoding } from "../compression.ts";
import { hashEtag, ifNoneMatchMatches } from "../etag.ts";
import { IMMUTABLE } from "../respond.ts";
import type { Route } from "../router.ts";

export const listingRoute: Route = {
  name: "/<hash>.ls",
  pattern: /^\/([^/]*)\.ls$/,
  methods: ["GET"],
  handle: async ({ req, res, params, services: { config, store } }) => {
    const hash = parseStoreHash(params[0] ?? "");
    if (hash === undefined) throw new StorefrontError("bad_request", "malformed store hash");
    const path = await validPathOnDisk(
      store,
      { virtual: config.virtual_nix_store, real: config.real_nix_store },
      hash,
    );
    const body = Buffer.from(renderListing(await readListing(Buffer.from(path.realPath))));
    // A listing can run to megabytes (a package with many files): those are compressed.
    const encoding = chooseEncoding(req, config, body.length);
    const etag = hashEtag(narHashDigest(path.info.narHash), encoding, "ls");
    // A store path never changes; when it is collected, the answer becomes a 404.
    res.setHeader("cache-control", IMMUTABLE);
    res.setHeader("etag", etag);
    varyOnEncoding(res, config);
    if (ifNoneMatchMatches(req.headers["if-none-match"], etag)) {
      res.writeHead(304);
      res.end();
      return;
    }
    res.setHeader("content-type", "application/json");
    if (encoding === undefined) {
      res.writeHead(200, { "content-length": body.length });
      res.end(req.method === "HEAD" ? undefined : body);
    } else {
      await sendEncoded(res, [body], encoding, config);
    }
  },
};
