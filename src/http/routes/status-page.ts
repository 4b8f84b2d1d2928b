// `/status` and `/status.json`: the store's size over time, its pins, largest closures, pushes
// and garbage collections, for people and for scripts (src/status/). They show the store, so
// they need `read` on a private cache; `[status] enable = false` leaves them out of the route
// table (daemon/serving.ts), so that they are 404s like any unknown path.

import { StorefrontError } from "../../errors.ts";
import { parseRange, type StatusData } from "../../status/status-data.ts";
import { renderStatusPage } from "../../status/status-page.ts";
import { NO_STORE, sendText } from "../respond.ts";
import type { RequestContext, Route } from "../router.ts";

/** The data for `?range=month` (the default) or `?range=year`; another range is a 400. */
function statusFor({ query, services: { status } }: RequestContext<"status">): Promise<StatusData> {
  if (status === undefined) throw new StorefrontError("not_found", "the status page is off");
  const range = parseRange(query.get("range"));
  if (range === undefined) {
    throw new StorefrontError("bad_request", "range must be month or year");
  }
  return status.status(range);
}

export const statusPageRoute: Route<"status"> = {
  name: "/status",
  pattern: /^\/status$/,
  methods: ["GET"],
  scope: "read",
  handle: async (context) => {
    sendText(context.res, 200, renderStatusPage(await statusFor(context)), {
      "content-type": "text/html; charset=utf-8",
      "cache-control": NO_STORE,
    });
  },
};

export const statusJsonRoute: Route<"status"> = {
  name: "/status.json",
  pattern: /^\/status\.json$/,
  methods: ["GET"],
  scope: "read",
  handle: async (context) => {
    sendText(context.res, 200, `${JSON.stringify(await statusFor(context))}\n`, {
      "content-type": "application/json",
      "cache-control": NO_STORE,
    });
  },
};

/** Added to the route table unless `[status] enable = false`. */
export const statusRoutes: readonly Route[] = [statusPageRoute, statusJsonRoute];
