import { renderNarInfo } from "../../core/narinfo.ts";
import { narInfoSignatures } from "../../core/signatures.ts";
import { parseStoreHash } from "../../core/store-path.ts";
import { StorefrontError } from "../../errors.ts";
import { SHORT_LIVED, sendText } from "../respond.ts";
import type { Route } from "../router.ts";

export const narInfoRoute: Route = {
  name: "/<hash>.narinfo",
  pattern: /^\/([^/]*)\.narinfo$/,
  methods: ["GET"],
  handle: ({ res, params, services: { config, store, keys } }) => {
    const hash = parseStoreHash(params[0] ?? "");
    if (hash === undefined) throw new StorefrontError("bad_request", "malformed store hash");
    const info = store.pathInfo(hash);
    if (info === undefined) throw new StorefrontError("not_found", `no valid path ${hash}`);
    const text = renderNarInfo(info, config.virtual_nix_store, narInfoSignatures(info, keys));
    sendText(res, 200, text, {
      "content-type": "text/x-nix-narinfo",
      "cache-control": SHORT_LIVED,
    });
  },
};
