// Prometheus metrics: this process's registry, or with several workers the whole cluster's.

import { NO_STORE, sendText } from "../respond.ts";
import type { Route } from "../router.ts";

export const metricsRoute: Route<"metrics"> = {
  name: "/metrics",
  pattern: /^\/metrics$/,
  methods: ["GET"],
  // Its own settings decide (`[metrics] enable`, `bind`), not [access]: scrapers carry no token.
  scope: "none",
  handle: async ({ res, services: { metrics } }) => {
    const text = await metrics.text();
    sendText(res, 200, text, { "content-type": metrics.contentType, "cache-control": NO_STORE });
  },
};
