// From a raw request to a route: split the URL, find the route, check the scope it needs (the
// only place credentials are looked at: access/), run it, map any error, and record the
// request's metrics (here and nowhere else).

import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { StorefrontError } from "../errors.ts";
import { UNMATCHED_ROUTE } from "../metrics/metrics.ts";
import { sendError } from "./errors.ts";
import { findRoute, type Route } from "./router.ts";
import type { Services } from "./services.ts";

/** The parameters of a URL without a query string, shared: nothing writes to them. */
const NO_QUERY = new URLSearchParams();

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createRequestHandler(routes: readonly Route[], services: Services): RequestHandler {
  return (req, res) => {
    void handle(routes, services, req, res);
  };
}

async function handle(
  routes: readonly Route[],
  services: Services,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = performance.now();
  // Bytes sent are the socket's count at the end less its count now: no per-chunk work, and
  // a keep-alive connection sends one response at a time, so the difference is this one's.
  const socket = req.socket;
  const bytesBefore = socket.bytesWritten;
  let routeName = UNMATCHED_ROUTE;
  const record = (): void => {
    services.metrics.recordRequest(
      routeName,
      req.method ?? "",
      res.statusCode,
      (performance.now() - started) / 1000,
      socket.bytesWritten - bytesBefore,
    );
  };
  try {
    const url = req.url ?? "";
    const queryStart = url.indexOf("?");
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    const query = queryStart === -1 ? NO_QUERY : new URLSearchParams(url.slice(queryStart + 1));
    const lookup = findRoute(routes, req.method ?? "", path);
    switch (lookup.kind) {
      case "not_found":
        throw new StorefrontError("not_found", "no route");
      case "method_not_allowed":
        res.setHeader("allow", lookup.allow);
        throw new StorefrontError("method_not_allowed", `${req.method ?? ""} not allowed`);
      case "found": {
        routeName = lookup.route.name;
        const token =
          lookup.route.scope === "none"
            ? undefined
            : services.access.check(req, res, routeName, lookup.route.scope);
        await lookup.route.handle({ req, res, params: lookup.params, query, services, token });
      }
    }
  } catch (error) {
    sendError(res, error, services.log);
  }
  // Nearly every response has been handed to the socket by now (bytesWritten counts what the
  // socket still holds): recorded at once, with no listener per request. One that is not (a
  // stream being cut) is recorded when it closes.
  if (res.writableEnded || res.destroyed) record();
  else res.once("close", record);
}
