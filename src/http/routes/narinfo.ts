import { renderNarInfo } from "../../core/nix/narinfo.ts";
import { narInfoSignatures } from "../../core/nix/signatures.ts";
import { parseStoreHash } from "../../core/nix/store-path.ts";
import { StorefrontError } from "../../errors.ts";
import { SHORT_LIVED, sendText } from "../respond.ts";
import type { Route } from "../router.ts";

export const narInfoRoute: Route<"config" | "store" | "keys" | "metrics" | "narInfoCache"> = {
  name: "/<hash>.narinfo",
  pattern: /^\/([^/]*)\.narinfo$/,
  methods: ["GET"],
  scope: "read",
  handle: ({ res, params, services: { config, store, keys, metrics, narInfoCache } }) => {
    const hash = parseStoreHash(params[0] ?? "");
    if (hash === undefined) throw new StorefrontError("bad_request", "malformed store hash");
    let text = narInfoCache.get(hash);
    if (text !== undefined) {
      metrics.narInfoCacheHits.inc();
    } else {
      const generation = narInfoCache.generation;
      const info = store.pathInfo(hash);
      if (info === undefined) {
        metrics.narInfoMisses.inc();
        throw new StorefrontError("not_found", `no valid path ${hash}`);
      }
      text = Buffer.from(
        renderNarInfo(info, config.virtual_nix_store, narInfoSignatures(info, keys)),
      );
      if (keys.length > 0) metrics.signatures.inc(keys.length);
      narInfoCache.set(hash, text, generation);
    }
    metrics.narInfoHits.inc();
    sendText(res, 200, text, {
      "content-type": "text/x-nix-narinfo",
      "cache-control": SHORT_LIVED,
    });
  },
};
