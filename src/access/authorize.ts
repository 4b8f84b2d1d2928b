// The one decision: may this request run a route that needs `scope`? Made before the route
// runs, from the Authorization header alone: no disk, no database, so that a client guessing
// secrets costs a hash and a few comparisons.

import { timingSafeEqual } from "node:crypto";
import { parseCredentials } from "./credentials.ts";
import type { Scope } from "../core/scopes.ts";
import { secretDigest, type Token } from "./tokens.ts";

/** Why a request was refused; the label of the failure counter. */
export type FailureReason =
  /** No Authorization header. */
  | "missing"
  /** A header that is neither Basic nor Bearer, or not decodable. */
  | "malformed"
  /** No token has this secret (with this login, for Basic). */
  | "invalid"
  /** A valid token without the scope the route needs. */
  | "forbidden";

export type Decision =
  /** `token`: the name of the token that was presented, for records (an admin token: "admin"). */
  | { readonly kind: "ok"; readonly token?: string }
  /** No token may use the route at all: it is off (the pins API without pin tokens). */
  | { readonly kind: "off" }
  | {
      readonly kind: "refused";
      readonly reason: FailureReason;
      readonly login: string | undefined;
    };

const OK: Decision = { kind: "ok" };

/** What records name a request made with an admin token (`admin_token_paths`): they have none. */
const ADMIN_TOKEN_NAME = "admin";
const OFF: Decision = { kind: "off" };

export interface AccessPolicy {
  /** `[access] public`: reading needs no token. */
  readonly public: boolean;
  readonly tokens: readonly Token[];
}

export function authorize(
  policy: AccessPolicy,
  authorization: string | undefined,
  scope: Scope,
): Decision {
  if (scope === "read" && policy.public) return OK;
  // The routes of a scope no token has (pins, uploads) are off, as if absent; reading a
  // private cache without such tokens is refused like any wrong token.
  if (scope !== "read" && !policy.tokens.some((token) => token.scopes.has(scope))) return OFF;
  const credentials = parseCredentials(authorization);
  if (credentials.kind === "none") return { kind: "refused", reason: "missing", login: undefined };
  if (credentials.kind === "malformed") {
    return { kind: "refused", reason: "malformed", login: undefined };
  }
  const login = credentials.kind === "basic" ? credentials.login : undefined;
  const presented = secretDigest(credentials.secret);
  // Every token is compared, whichever matches, so the time does not say which one did.
  let matched: Token | undefined;
  for (const token of policy.tokens) {
    const same = timingSafeEqual(presented, token.digest);
    const loginFits = login === undefined || token.name === undefined || token.name === login;
    if (same && loginFits && matched === undefined) matched = token;
  }
  if (matched === undefined) return { kind: "refused", reason: "invalid", login };
  if (!matched.scopes.has(scope)) return { kind: "refused", reason: "forbidden", login };
  return { kind: "ok", token: matched.name ?? ADMIN_TOKEN_NAME };
}
