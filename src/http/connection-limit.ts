// The cap on connections open at once (`max_connections`, harmonia's key). A request on a
// connection beyond it is answered 503 with Retry-After and the connection closed, so that a
// client learns to come back rather than hang; far beyond it (an eighth more, at least 64),
// connections are closed as soon as they are accepted, before they cost a parser or a
// descriptor for long.

import type { Server } from "node:http";
import type { Socket } from "node:net";
import { errorResponse } from "./errors.ts";
import type { RequestHandler } from "./handler.ts";

/** A connection over the cap gets this long to send its request, not request_header_timeout. */
const OVER_LIMIT_TIMEOUT_MS = 5_000;

export interface ConnectionLimit {
  readonly max: number;
  /** Called for each connection refused, with a 503 or without an answer. */
  readonly refused: () => void;
}

/**
 * Counts the connections of `server` (`event`: "connection", or "secureConnection" for TLS,
 * whose requests come on the TLS socket) and returns `handler` wrapped to refuse the requests
 * of those over `limit.max`.
 */
export function limitConnections(
  server: Server,
  event: "connection" | "secureConnection",
  handler: RequestHandler,
  limit: ConnectionLimit,
): RequestHandler {
  let open = 0;
  const over = new WeakSet<Socket>();
  server.maxConnections = limit.max + Math.max(64, limit.max >> 3);
  server.on("drop", () => {
    limit.refused();
  });
  server.on(event, (socket: Socket) => {
    open += 1;
    socket.once("close", () => {
      open -= 1;
    });
    if (open <= limit.max) return;
    over.add(socket);
    socket.setTimeout(OVER_LIMIT_TIMEOUT_MS, () => socket.destroy());
  });
  return (req, res) => {
    if (!over.has(req.socket)) {
      handler(req, res);
      return;
    }
    limit.refused();
    const { status, body, headers } = errorResponse("busy");
    res.writeHead(status, {
      ...headers,
      "content-type": "text/plain; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
      connection: "close",
    });
    res.end(body);
  };
}
