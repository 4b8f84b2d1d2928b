// Who may upload: the ONE place that decides it. Until tokens with scopes land (issue 14), an
// upload needs one of the admin tokens (admin_token_paths), as `Authorization: Bearer <token>`
// or as the password of HTTP Basic, which is what Nix sends from a netrc file (curl; Nix has no
// bearer option). At merge this becomes the route table's `push` scope check.

import { createHash, timingSafeEqual } from "node:crypto";
import { StorefrontError } from "../errors.ts";

/** The token's name for the push record; admin tokens have none of their own yet. */
export const ADMIN_TOKEN_NAME = "admin";

function presentedToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const bearer = /^Bearer +(\S+) *$/i.exec(authorization);
  if (bearer !== null) return bearer[1];
  const basic = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(authorization);
  if (basic === null) return undefined;
  const decoded = Buffer.from(basic[1] ?? "", "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/**
 * Throws `unauthorized` unless the request's Authorization header carries a push token; returns the token's name.
 * Every digest is compared, in constant time, whichever matches.
 */
export function requirePushToken(
  authorization: string | undefined,
  digests: readonly Buffer[],
): string {
  const token = presentedToken(authorization);
  const presented = createHash("sha256")
    .update(token ?? "")
    .digest();
  let matched = false;
  for (const digest of digests) matched = timingSafeEqual(presented, digest) || matched;
  if (token === undefined || !matched) {
    throw new StorefrontError("unauthorized", "upload without a valid push token");
  }
  return ADMIN_TOKEN_NAME;
}
