// Prometheus metrics: this process's registry, or with several workers the whole cluster's.

import { NO_STORE, sendText } from "../respond.ts";
import type { Route } from "../router.ts";

export const metricsRoute: Route<"metrics"> = {
  name: "/metrics",
  pattern: /^\/metrics$/,
  methods: ["GET"],
  handle: async ({ res, services: { metrics } }) => {
    const text = await metrics.text();
    sendText(res, 200, text, { "content-type": metrics.contentType, "cache-control": NO_STORE });
  },
};
