// `/`: an HTML page for people, with the nix.conf lines for this cache as the request reached it.

import { cacheUrl } from "../cache-url.ts";
import { renderLandingPage } from "../../core/pages/landing-page.ts";
import { NO_STORE, sendText } from "../respond.ts";
import type { Route } from "../router.ts";

export const landingRoute: Route<"config" | "keys" | "version"> = {
  name: "/",
  pattern: /^\/$/,
  methods: ["GET"],
  handle: ({ req, res, services: { config, keys, version } }) => {
    const forwardedProto = req.headers["x-forwarded-proto"];
    const page = renderLandingPage({
      version,
      storeDir: config.virtual_nix_store,
      priority: config.priority,
      publicKeys: keys.map((key) => key.publicKey),
      cacheUrl: cacheUrl(
        req.headers.host,
        Array.isArray(forwardedProto) ? forwardedProto[0] : forwardedProto,
        "encrypted" in req.socket && req.socket.encrypted === true,
      ),
    });
    sendText(res, 200, page, {
      "content-type": "text/html; charset=utf-8",
      // It repeats the request's Host: a shared cache must not keep it for another.
      "cache-control": NO_STORE,
    });
  },
};
