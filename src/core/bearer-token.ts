// Checking `Authorization: Bearer <token>` against the configured tokens in constant time:
// both sides are hashed to 32 bytes first, so timingSafeEqual compares equal lengths and the
// time taken says nothing about the tokens' lengths or contents. Every token is compared,
// whichever matches.

import { createHash, timingSafeEqual } from "node:crypto";

export function tokenDigest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

export function bearerTokenMatches(
  authorization: string | undefined,
  digests: readonly Buffer[],
): boolean {
  if (authorization === undefined || digests.length === 0) return false;
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  const presented = tokenDigest(match?.[1] ?? "");
  let matched = false;
  for (const digest of digests) matched = timingSafeEqual(presented, digest) || matched;
  return match !== null && matched;
}
