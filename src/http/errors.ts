// The one place where an error becomes an HTTP status. A client sees a short fixed body; the
// detail (paths, SQL, stack) goes to the log only.

import type { ServerResponse } from "node:http";
import { StorefrontError, type ErrorCode } from "../errors.ts";
import type { Logger } from "../log.ts";

export interface ErrorResponse {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export function errorResponse(code: ErrorCode): ErrorResponse {
  switch (code) {
    case "bad_request":
      return { status: 400, body: "bad request\n" };
    case "not_found":
      return { status: 404, body: "not found\n" };
    case "store_changed":
      // Files gone before the first byte went out: the path is as good as absent.
      return { status: 404, body: "not found\n" };
    case "unauthorized":
      return {
        status: 401,
        body: "unauthorized\n",
        // Basic: the scheme Nix answers, with the netrc file's login and password.
        headers: { "www-authenticate": 'Basic realm="storefront"' },
      };
    case "forbidden":
      return { status: 403, body: "forbidden\n" };
    case "payload_too_large":
      return { status: 413, body: "request body too large\n" };
    case "path_not_valid":
      return { status: 422, body: "not a valid path in this store\n" };
    case "method_not_allowed":
      return { status: 405, body: "method not allowed\n" };
    case "range_not_satisfiable":
      return { status: 416, body: "range not satisfiable\n" };
    case "internal":
      return { status: 500, body: "internal error\n" };
    default: {
      const unhandled: never = code;
      return unhandled;
    }
  }
}

/**
 * Answers a request that failed. Before the headers went out that is a status and a fixed body;
 * after, the connection is cut so that the client sees a broken download, never a complete one
 * with wrong bytes.
 */
export function sendError(res: ServerResponse, error: unknown, log: Logger): void {
  const code = error instanceof StorefrontError ? error.code : "internal";
  const detail = error instanceof Error ? error.message : String(error);
  if (code === "internal") {
    log.error("request failed", {
      url: res.req.url,
      detail,
      stack: error instanceof Error ? error.stack : undefined,
    });
  } else {
    log.debug("request refused", { url: res.req.url, code, detail });
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, body, headers } = errorResponse(code);
  res.writeHead(status, {
    ...headers,
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(body);
}
