import { renderCacheInfo } from "../../core/nix/narinfo.ts";
import { sendText } from "../respond.ts";
import type { Route } from "../router.ts";

export const cacheInfoRoute: Route<"config"> = {
  name: "/nix-cache-info",
  pattern: /^\/nix-cache-info$/,
  methods: ["GET"],
  scope: "read",
  handle: ({ res, services: { config } }) => {
    sendText(res, 200, renderCacheInfo(config.virtual_nix_store, config.priority), {
      "content-type": "text/x-nix-cache-info",
      // Nix itself keeps this for days; a proxy may keep it for an hour.
      "cache-control": "public, max-age=3600",
    });
  },
};
