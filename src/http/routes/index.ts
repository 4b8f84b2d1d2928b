// The route table: every route storefront answers, in one list.

import type { Route } from "../router.ts";
import { cacheInfoRoute } from "./cache-info.ts";
import { narRoutes } from "./nar.ts";
import { narInfoRoute } from "./narinfo.ts";
import { tarRoute } from "./tar.ts";
import { healthRoute, landingRoute, versionRoute } from "./status.ts";

export const routes: readonly Route[] = [
  landingRoute,
  cacheInfoRoute,
  narInfoRoute,
  ...narRoutes,
  tarRoute,
  healthRoute,
  versionRoute,
];
