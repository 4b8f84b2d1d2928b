// The pins API for CI: list, add and remove pins. Needs a token with the `pin` scope, checked
// before the route runs (see access/); off (404, as if absent) when no token has it.

import { pinJson, retentionFromOptions } from "../../core/pins/pin-json.ts";
import { StorefrontError } from "../../errors.ts";
import { readJsonBody } from "../request-body.ts";
import { NO_STORE, sendText } from "../respond.ts";
import type { RequestContext, Route } from "../router.ts";

/** A pin request is a store path and a retention: a few hundred bytes. */
const BODY_LIMIT_BYTES = 4096;

/** What the pins API uses. */
type Uses = "pins" | "log";

function sendJson(context: RequestContext<Uses>, status: number, value: unknown): void {
  sendText(context.res, status, JSON.stringify(value) + "\n", {
    "content-type": "application/json",
    "cache-control": NO_STORE,
  });
}

function pinName(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new StorefrontError("bad_request", "malformed percent-encoding in pin name");
  }
}

interface PinRequest {
  storePath: string;
  keepRevisions?: number;
  keepDays?: number;
  keepForever?: boolean;
}

const PIN_REQUEST_KEYS = new Set(["storePath", "keepRevisions", "keepDays", "keepForever"]);

function parsePinRequest(body: unknown): PinRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new StorefrontError("bad_request", "body must be a JSON object");
  }
  const record = body as Record<string, unknown>;
  const unknownKey = Object.keys(record).find((key) => !PIN_REQUEST_KEYS.has(key));
  const { storePath, keepRevisions, keepDays, keepForever } = record;
  if (
    unknownKey !== undefined ||
    typeof storePath !== "string" ||
    (keepRevisions !== undefined && typeof keepRevisions !== "number") ||
    (keepDays !== undefined && typeof keepDays !== "number") ||
    (keepForever !== undefined && typeof keepForever !== "boolean")
  ) {
    throw new StorefrontError("bad_request", "malformed pin request");
  }
  return { storePath, keepRevisions, keepDays, keepForever } as PinRequest;
}

export const pinsRoutes: readonly Route<Uses>[] = [
  {
    name: "/api/v1/pins",
    pattern: /^\/api\/v1\/pins$/,
    methods: ["GET"],
    scope: "pin",
    handle: (context) => {
      sendJson(context, 200, { pins: context.services.pins.list().map(pinJson) });
    },
  },
  {
    name: "/api/v1/pins/<name>",
    pattern: /^\/api\/v1\/pins\/([^/]*)$/,
    methods: ["GET", "PUT", "DELETE"],
    scope: "pin",
    handle: async (context) => {
      const { req, services } = context;
      const name = pinName(context.params[0] ?? "");
      switch (req.method) {
        case "PUT": {
          const request = parsePinRequest(await readJsonBody(req, BODY_LIMIT_BYTES));
          const retention = retentionFromOptions(request);
          if (!retention.ok) throw new StorefrontError("bad_request", retention.reason);
          const pin = services.pins.pin(name, request.storePath, retention.retention);
          services.log.info("pinned", { pin: name, path: request.storePath, via: "api" });
          sendJson(context, pin.revisions.length === 1 ? 201 : 200, pinJson(pin));
          return;
        }
        case "DELETE": {
          if (!services.pins.unpin(name)) throw new StorefrontError("not_found", "no such pin");
          services.log.info("unpinned", { pin: name, via: "api" });
          context.res.writeHead(204, { "cache-control": NO_STORE });
          context.res.end();
          return;
        }
        default: {
          const pin = services.pins.get(name);
          if (pin === undefined) throw new StorefrontError("not_found", "no such pin");
          sendJson(context, 200, pinJson(pin));
        }
      }
    },
  },
];
