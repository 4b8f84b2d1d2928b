// The route table: every route storefront answers, in one list.

import type { Route } from "../router.ts";
import { cacheInfoRoute } from "./cache-info.ts";
import { landingRoute } from "./landing.ts";
import { listingRoute } from "./listing.ts";
import { buildLogRoute } from "./log.ts";
import { metricsRoute } from "./metrics.ts";
import { narRoutes } from "./nar.ts";
import { narInfoRoute } from "./narinfo.ts";
import { pinsRoutes } from "./pins.ts";
import { realisationRoute } from "./realisation.ts";
import { serveRoute } from "./serve.ts";
import { healthRoute, versionRoute } from "./status.ts";
import { tarRoute } from "./tar.ts";

export const routes: readonly Route[] = [
  landingRoute,
  cacheInfoRoute,
  narInfoRoute,
  ...narRoutes,
  listingRoute,
  tarRoute,
  buildLogRoute,
  serveRoute,
  realisationRoute,
  healthRoute,
  versionRoute,
  ...pinsRoutes,
  // After the reading routes: a PUT or HEAD that none of them answers falls through to these.
];

/** `/metrics`: added to `routes` on the main listener, or served alone on `[metrics] bind`. */
export const metricsRoutes: readonly Route[] = [metricsRoute];

/** `/status` and `/status.json`: added to `routes` unless `[status] enable = false`. */
export { statusRoutes } from "./status-page.ts";
