// Small routes for people and for load balancers.

import { NO_STORE, sendText } from "../respond.ts";
import type { Route } from "../router.ts";

export const healthRoute: Route<never> = {
  name: "/health",
  pattern: /^\/health$/,
  methods: ["GET"],
  scope: "none",
  handle: ({ res }) => {
    sendText(res, 200, "OK\n", {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": NO_STORE,
    });
  },
};

export const versionRoute: Route<"version"> = {
  name: "/version",
  pattern: /^\/version$/,
  methods: ["GET"],
  scope: "none",
  handle: ({ res, services }) => {
    sendText(res, 200, `storefront ${services.version}\n`, {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": NO_STORE,
    });
  },
};
