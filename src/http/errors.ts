// The one place where an error becomes an HTTP status. A client sees a short fixed body; the
// detail (paths, SQL, stack) goes to the log only.

import type { ServerResponse } from "node:http";
import { StorefrontError, type ErrorCode } from "../errors.ts";
import type { Logger } from "../log.ts";

/** What a 503 for too much at once tells the client to wait, in seconds. */
const RETRY_AFTER_SECONDS = 5;

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
    case "busy":
      // Nix retries a 503 (and 2.35 honours Retry-After): by then a slot is likely free.
      return {
        status: 503,
        body: "busy, try again later\n",
        headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
      };
    case "internal":
      return { status: 500, body: "internal error\n" };
    default: {
      const unhandled: never = code;
      return unhandled;
    }
  }
}

/** Errors a stream to a client fails with when the client went away: no fault of ours. */
const CLIENT_GONE_CODES = new Set([
  "ERR_STREAM_PREMATURE_CLOSE",
  "ERR_STREAM_UNABLE_TO_PIPE",
  "ERR_STREAM_DESTROYED",
  "EPIPE",
  "ECONNRESET",
]);

/** Whether `error`, from sending a response on `res`, means that the client went away. */
export function isClientGone(error: unknown, res: ServerResponse): boolean {
  if (res.writableFinished) return false;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && CLIENT_GONE_CODES.has(code) && res.destroyed;
}

/**
 * Answers a request that failed. Before the headers went out that is a status and a fixed body;
 * after, the connection is cut so that the client sees a broken download, never a complete one
 * with wrong bytes. What is logged says whose fault it was: a client that went away is no
 * error (a debug line), a store that changed under the request is a warning of its own, and
 * only what is left (a bug, the database failing) is logged as an error.
 */
export function sendError(res: ServerResponse, error: unknown, log: Logger): void {
  const code = error instanceof StorefrontError ? error.code : "internal";
  const detail = error instanceof Error ? error.message : String(error);
  if (code === "internal" && isClientGone(error, res)) {
    log.debug("client went away", { url: res.req.url, detail });
    return;
  }
  if (code === "store_changed") {
    log.warn("store changed under a request", { url: res.req.url, detail });
  } else if (code === "internal") {
    log.error("request failed", {
      url: res.req.url,
      detail,
      stack: error instanceof Error ? error.stack : undefined,
    });
  } else {
    log.debug("request refused", { url: res.req.url, code, detail });
  }
  if (res.destroyed) return;
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
