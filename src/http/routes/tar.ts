// Tarballs for machines without Nix: `GET /<hash>.tar` streams the store path as a tar archive
// (see store/nar/store-path-tar.ts), compressed when the client asks, e.g. `curl --compressed`.
// Like a NAR, it never changes for a given path, so proxies may keep it.

import { narHashDigest } from "../../core/nix/path-info.ts";
import { storePathTar } from "../../store/nar/store-path-tar.ts";
import { chooseEncoding, sendEncoded } from "../compression.ts";
import { hashEtag } from "../etag.ts";
import { sendChunks } from "../respond.ts";
import type { Route } from "../router.ts";
import { answeredNotModified, validPathOfHash } from "../store-path-body.ts";

export const tarRoute: Route<"config" | "store" | "streams"> = {
  name: "/<hash>.tar",
  pattern: /^\/([^/]*)\.tar$/,
  methods: ["GET"],
  scope: "read",
  handle: async ({ req, res, params, services }) => {
    const { config } = services;
    const { info, baseName, realPath, stats } = validPathOfHash(params[0] ?? "", services);
    // A tar is at least 1 KiB (its end marker), so its size need not be known to compress it.
    const encoding = chooseEncoding(req, config);
    const etag = hashEtag(narHashDigest(info.narHash), encoding, "tar");
    if (answeredNotModified(req, res, config, etag)) return;
    res.setHeader("content-type", "application/x-tar");
    res.setHeader("content-disposition", `attachment; filename="${baseName}.tar"`);
    if (req.method === "HEAD") {
      res.writeHead(200);
      res.end();
      return;
    }
    await services.streams.run(res, async () => {
      const tar = storePathTar(realPath, stats, baseName);
      if (encoding === undefined) {
        res.writeHead(200);
        await sendChunks(res, tar);
      } else {
        await sendEncoded(res, tar, encoding, config);
      }
    });
  },
};
