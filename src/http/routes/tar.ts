// Tarballs for machines without Nix: `GET /<hash>.tar` streams the store path as a tar archive
// (see store/nar/store-path-tar.ts), compressed when the client asks, e.g. `curl --compressed`.
// Like a NAR, it never changes for a given path, so proxies may keep it.

import { narHashDigest } from "../../core/nix/path-info.ts";
import { storePathTar } from "../../store/nar/store-path-tar.ts";
import { sendStreamed, wantsBody } from "../answer.ts";
import { chooseEncoding, encodedHeaders, writeEncoded } from "../compression.ts";
import { hashEtag } from "../etag.ts";
import { sendChunks } from "../respond.ts";
import type { Route } from "../router.ts";
import { answeredNotModified, validPathOfHash } from "../store-path-body.ts";

export const tarRoute: Route<"config" | "store" | "streams" | "lastUse"> = {
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
    await sendStreamed(res, services.streams, (reply) => {
      // A download that starts is a use of the path (a HEAD is not).
      if (wantsBody(req)) services.lastUse?.used(baseName.slice(0, 32));
      const tar = (): AsyncIterable<Buffer> => storePathTar(realPath, stats, baseName);
      return encoding === undefined
        ? reply({ status: 200, body: () => sendChunks(res, tar()) })
        : reply({
            status: 200,
            headers: encodedHeaders(encoding),
            body: async () => {
              await writeEncoded(res, tar(), encoding, config);
            },
          });
    });
  },
};
