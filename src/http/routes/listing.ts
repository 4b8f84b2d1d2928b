// `/<hash>.ls`: the JSON listing of a store path's files, as `nix store ls --json --recursive`
// prints it, for tools that browse a cache without downloading NARs.

import { renderListing } from "../../core/nar-listing.ts";
import { parseStoreHash } from "../../core/store-path.ts";
import { StorefrontError } from "../../errors.ts";
import { readListing } from "../../store/file-listing.ts";
import { validPathOnDisk } from "../../store/valid-path.ts";
import { IMMUTABLE, sendText } from "../respond.ts";
import type { Route } from "../router.ts";

export const listingRoute: Route = {
  name: "/<hash>.ls",
  pattern: /^\/([^/]*)\.ls$/,
  methods: ["GET"],
  handle: async ({ res, params, services: { config, store } }) => {
    const hash = parseStoreHash(params[0] ?? "");
    if (hash === undefined) throw new StorefrontError("bad_request", "malformed store hash");
    const path = await validPathOnDisk(
      store,
      { virtual: config.virtual_nix_store, real: config.real_nix_store },
      hash,
    );
    const root = await readListing(Buffer.from(path.realPath));
    sendText(res, 200, renderListing(root), {
      "content-type": "application/json",
      // A store path never changes; when it is collected, the answer becomes a 404.
      "cache-control": IMMUTABLE,
    });
  },
};
