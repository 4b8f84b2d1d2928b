// `/<hash>.ls`: the JSON listing of a store path's files, as `nix store ls --json --recursive`
// prints it, for tools that browse a cache without downloading NARs.

import { renderListing } from "../../core/nar-listing.ts";
import { narHashDigest } from "../../core/path-info.ts";
import { readListing } from "../../store/file-listing.ts";
import { chooseEncoding, sendEncoded } from "../compression.ts";
import { hashEtag } from "../etag.ts";
import type { Route } from "../router.ts";
import { answeredNotModified, validPathOfHash } from "../store-path-body.ts";

export const listingRoute: Route = {
  name: "/<hash>.ls",
  pattern: /^\/([^/]*)\.ls$/,
  methods: ["GET"],
  scope: "read",
  handle: async ({ req, res, params, services }) => {
    const { config } = services;
    const path = validPathOfHash(params[0] ?? "", services);
    const body = Buffer.from(renderListing(await readListing(Buffer.from(path.realPath))));
    // A listing can run to megabytes (a package with many files): those are compressed.
    const encoding = chooseEncoding(req, config, body.length);
    const etag = hashEtag(narHashDigest(path.info.narHash), encoding, "ls");
    if (answeredNotModified(req, res, config, etag)) return;
    res.setHeader("content-type", "application/json");
    if (encoding === undefined) {
      res.writeHead(200, { "content-length": body.length });
      res.end(req.method === "HEAD" ? undefined : body);
    } else {
      await sendEncoded(res, [body], encoding, config);
    }
  },
};
