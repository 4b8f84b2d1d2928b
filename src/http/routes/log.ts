// `/log/<drv base name>`: a derivation's build log as text. Nix keeps logs bzip2-compressed;
// a client that lists bzip2 in Accept-Encoding (Nix up to 2.33) gets the file as it is, others
// (Nix 2.34+, browsers, curl) get it decompressed on the fly.

import { buildLogDir, parseDrvBaseName } from "../../core/nix/build-log.ts";
import { hashPartOf, parseStoreHash } from "../../core/nix/store-path.ts";
import { listsEncoding } from "../accept-encoding.ts";
import { sendStreamed } from "../answer.ts";
import { StorefrontError } from "../../errors.ts";
import { openBuildLog } from "../../store/files/build-logs.ts";
import { SHORT_LIVED, sendChunks } from "../respond.ts";
import type { Route } from "../router.ts";

export const buildLogRoute: Route<"config" | "servedRoots" | "store" | "streams"> = {
  name: "/log/<drv>",
  pattern: /^\/log\/([^/]*)$/,
  methods: ["GET"],
  scope: "read",
  handle: async ({ req, res, params, services: { config, streams, store, servedRoots } }) => {
    const drv = parseDrvBaseName(params[0] ?? "");
    if (drv === undefined) throw new StorefrontError("bad_request", "malformed derivation name");
    const log = await openBuildLog(buildLogDir(config.real_nix_store), drv);
    // Under `[exposure]`, the log of a derivation that is not served is not there. Asked after
    // the file is opened, so that a hidden log takes the time a missing one does.
    const hash = parseStoreHash(hashPartOf(drv));
    const hidden =
      servedRoots !== undefined &&
      (hash === undefined ||
        store.pathNar(hash)?.storePath !== `${config.virtual_nix_store}/${drv}`);
    if (hidden) await log?.close();
    if (log === undefined || hidden) {
      throw new StorefrontError("not_found", `no build log for ${drv}`);
    }
    try {
      await sendStreamed(res, streams, (reply) => {
        const asStored = !log.bzip2 || listsEncoding(req.headers["accept-encoding"], "bzip2");
        return reply({
          status: 200,
          headers: {
            "content-type": "text/plain; charset=utf-8",
            // A rebuild (`--check`, or after the GC) writes a new log.
            "cache-control": SHORT_LIVED,
            vary: "Accept-Encoding",
            ...(asStored ? { "content-length": log.size } : {}),
            ...(asStored && log.bzip2 ? { "content-encoding": "bzip2" } : {}),
          },
          body: () => sendChunks(res, log.chunks(!asStored)),
        });
      });
    } finally {
      await log.close();
    }
  },
};
