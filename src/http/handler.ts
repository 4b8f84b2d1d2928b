// From a raw request to a route: split the URL, find the route, run it, map any error.

import type { IncomingMessage, ServerResponse } from "node:http";
import { StorefrontError } from "../errors.ts";
import { sendError } from "./errors.ts";
import { findRoute, type Route } from "./router.ts";
import type { Services } from "./services.ts";

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
  try {
    const url = req.url ?? "";
    const queryStart = url.indexOf("?");
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    const query = new URLSearchParams(queryStart === -1 ? "" : url.slice(queryStart + 1));
    const lookup = findRoute(routes, req.method ?? "", path);
    switch (lookup.kind) {
      case "not_found":
        throw new StorefrontError("not_found", "no route");
      case "method_not_allowed":
        res.setHeader("allow", lookup.allow);
        throw new StorefrontError("method_not_allowed", `${req.method ?? ""} not allowed`);
      case "found":
        await lookup.route.handle({ req, res, params: lookup.params, query, services });
    }
  } catch (error) {
    sendError(res, error, services.log);
  }
}
