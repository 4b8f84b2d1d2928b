import { describe, expect, it } from "vitest";
import { hashEtag, ifNoneMatchMatches } from "../../src/http/etag.ts";

describe("ETags", () => {
  const hash = "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s";

  it("name each representation of a hash", () => {
    expect(hashEtag(hash, undefined)).toBe(`"${hash}"`);
    expect(hashEtag(hash, "zstd")).toBe(`"${hash}-zst"`);
    expect(hashEtag(hash, "gzip")).toBe(`"${hash}-gz"`);
    expect(hashEtag(hash, "br", "tar")).toBe(`"${hash}-tar-br"`);
    expect(hashEtag(hash, undefined, "tar")).toBe(`"${hash}-tar"`);
  });

  it("match If-None-Match lists, weak tags and *", () => {
    const etag = hashEtag(hash, undefined);
    expect(ifNoneMatchMatches(undefined, etag)).toBe(false);
    expect(ifNoneMatchMatches(etag, etag)).toBe(true);
    expect(ifNoneMatchMatches(`"other", ${etag}`, etag)).toBe(true);
    expect(ifNoneMatchMatches(`W/${etag}`, etag)).toBe(true);
    expect(ifNoneMatchMatches(" * ", etag)).toBe(true);
    expect(ifNoneMatchMatches(hashEtag(hash, "zstd"), etag)).toBe(false);
    expect(ifNoneMatchMatches(hash, etag)).toBe(false);
  });
});
