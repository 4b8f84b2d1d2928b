// Access as the request handler sees it: one object, read per request, holding the current
// policy (public or not, the tokens) so that a reload can swap the policy without restarting,
// and recording each refusal: a counter by reason and a log line that names the client, the
// login and the route, never the secret.

import type { IncomingMessage, ServerResponse } from "node:http";
import { Counter, type Registry } from "prom-client";
import { StorefrontError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { authorize, type AccessPolicy, type FailureReason } from "./authorize.ts";
import { keepPrivate } from "./private-responses.ts";
import type { Scope } from "../core/scopes.ts";

/**
 * Log lines per client address and window, at most: every failure of a person or a misconfigured
 * client is logged, while a client guessing secrets cannot fill the journal. The rest are
 * counted, and the count is logged with the next window's first line.
 */
const LOG_LINES_PER_WINDOW = 10;
const LOG_WINDOW_MS = 10_000;

/** Addresses remembered for that; past it the memory is dropped (a flood of addresses). */
const MAX_REMEMBERED_ADDRESSES = 10_000;

interface Recent {
  windowStart: number;
  logged: number;
  suppressed: number;
}

export class AccessControl {
  #policy: AccessPolicy;
  readonly #log: Logger;
  readonly #failures: Counter<"reason">;
  readonly #recent = new Map<string, Recent>();

  constructor(policy: AccessPolicy, log: Logger, registry: Registry) {
    this.#policy = policy;
    this.#log = log;
    this.#failures = new Counter({
      name: "storefront_auth_failures_total",
      help: "Requests refused for their credentials, by reason (missing, malformed, invalid, forbidden).",
      labelNames: ["reason"] as const,
      registers: [registry],
    });
  }

  get policy(): AccessPolicy {
    return this.#policy;
  }

  /** Puts `policy` in force for the requests that follow (a reload of the tokens). */
  replace(policy: AccessPolicy): void {
    this.#policy = policy;
  }

  /**
   * Lets a request for `route` (its name) through, its answer kept from shared caches, or
   * throws the refusal: 401 without valid credentials, 403 without the scope, 404 for a route
   * no token may use. Returns the name of the token presented, if one was needed.
   */
  check(
    req: IncomingMessage,
    res: ServerResponse,
    route: string,
    scope: Scope,
  ): string | undefined {
    const policy = this.#policy;
    if (scope === "read" && policy.public) return undefined;
    const decision = authorize(policy, req.headers.authorization, scope);
    switch (decision.kind) {
      case "ok":
        keepPrivate(res);
        return decision.token;
      case "off":
        throw new StorefrontError("not_found", `no token has the ${scope} scope`);
      case "refused":
        this.#record(req, route, decision.reason, decision.login);
        throw new StorefrontError(
          decision.reason === "forbidden" ? "forbidden" : "unauthorized",
          `authentication ${decision.reason}`,
        );
      default: {
        const unhandled: never = decision;
        return unhandled;
      }
    }
  }

  #record(
    req: IncomingMessage,
    route: string,
    reason: FailureReason,
    login: string | undefined,
  ): void {
    this.#failures.inc({ reason });
    const client = req.socket.remoteAddress ?? "unknown";
    const now = Date.now();
    let recent = this.#recent.get(client);
    let suppressed = 0;
    if (recent === undefined || now - recent.windowStart >= LOG_WINDOW_MS) {
      suppressed = recent?.suppressed ?? 0;
      if (this.#recent.size >= MAX_REMEMBERED_ADDRESSES) this.#recent.clear();
      recent = { windowStart: now, logged: 0, suppressed: 0 };
      this.#recent.set(client, recent);
    }
    if (recent.logged >= LOG_LINES_PER_WINDOW) {
      recent.suppressed++;
      return;
    }
    recent.logged++;
    this.#log.warn("authentication failed", {
      status: reason === "forbidden" ? 403 : 401,
      reason,
      client,
      // A login is a name, not a secret; cut so that a client cannot write a long line.
      login: login?.slice(0, 64),
      route,
      // Failures of this client not logged in the window before.
      suppressed: suppressed === 0 ? undefined : suppressed,
    });
  }
}
