// `/`: an HTML page for people, with the nix.conf lines for this cache as the request reached it.

import { cacheUrl } from "../cache-url.ts";
import { renderLandingPage } from "../../core/pages/landing-page.ts";
import { NO_STORE, sendText } from "../respond.ts";
import type { Route } from "../router.ts";
import { authorize } from "../../access/authorize.ts";

export const landingRoute: Route<"access" | "config" | "keys" | "servedRoots" | "version"> = {
  name: "/",
  pattern: /^\/$/,
  methods: ["GET"],
  // Open even on a private cache: it says how to get in, and shows nothing of the store.
  scope: "none",
  handle: ({ req, res, services: { access, config, keys, version, servedRoots } }) => {
    const forwardedProto = req.headers["x-forwarded-proto"];
    const page = renderLandingPage({
      version,
      storeDir: config.virtual_nix_store,
      priority: config.priority,
      private: !access.policy.public,
      // A private cache names its roots only to a reader who may read it; a stranger learns
      // how many there are.
      servedRoots:
        servedRoots === undefined ||
        authorize(access.policy, req.headers.authorization, "read").kind === "ok"
          ? servedRoots
          : { count: servedRoots.length },
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
