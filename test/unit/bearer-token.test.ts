import { describe, expect, it } from "vitest";
import { bearerTokenMatches, tokenDigest } from "../../src/core/bearer-token.ts";

const tokens = [tokenDigest("first-token-0123456789"), tokenDigest("second-token-0123456789")];

describe("bearer tokens", () => {
  it("accepts any configured token", () => {
    expect(bearerTokenMatches("Bearer first-token-0123456789", tokens)).toBe(true);
    expect(bearerTokenMatches("bearer second-token-0123456789", tokens)).toBe(true);
  });

  it.each([
    undefined,
    "",
    "Bearer",
    "Bearer ",
    "Bearer first-token-012345678",
    "Bearer first-token-01234567890",
    "Basic Zmlyc3QtdG9rZW4tMDEyMzQ1Njc4OQ==",
    "first-token-0123456789",
    "Bearer first-token-0123456789 extra",
  ])("refuses %j", (header) => {
    expect(bearerTokenMatches(header, tokens)).toBe(false);
  });

  it("refuses everything when no token is configured", () => {
    expect(bearerTokenMatches("Bearer first-token-0123456789", [])).toBe(false);
  });
});
