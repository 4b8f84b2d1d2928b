import { describe, expect, it } from "vitest";
import { acceptsIdentity, parseAcceptEncoding } from "../../src/http/accept-encoding.ts";
import { negotiateEncoding } from "../../src/http/compression.ts";

describe("Accept-Encoding", () => {
  it("takes the body as it is unless identity is refused", () => {
    for (const header of [undefined, "zstd", "deflate, gzip, br, zstd", "*;q=0, identity"]) {
      expect(acceptsIdentity(header), header).toBe(true);
    }
    for (const header of ["zstd, identity;q=0", "*;q=0.1, identity;q=0", "zstd, *;q=0"]) {
      expect(acceptsIdentity(header), header).toBe(false);
    }
  });

  it("parses codings and q-values", () => {
    expect(parseAcceptEncoding("gzip, br;q=0.5, ZSTD;q=0 , identity;q=0.001")).toEqual(
      new Map([
        ["gzip", 1],
        ["br", 0.5],
        ["zstd", 0],
        ["identity", 0.001],
      ]),
    );
  });

  it("voids items with malformed q-values", () => {
    expect(parseAcceptEncoding("zstd;q=2, br;q=abc, gzip;q=0.5555").get("zstd")).toBe(0);
    expect(parseAcceptEncoding("br;q=abc").get("br")).toBe(0);
    expect(parseAcceptEncoding("gzip;q=0.5555").get("gzip")).toBe(0);
    expect(parseAcceptEncoding("gzip;q=1.000").get("gzip")).toBe(1);
  });

  it("prefers zstd, then br, then gzip, among what the client allows", () => {
    // What Nix up to 2.33 sends.
    expect(negotiateEncoding("zstd, br, gzip, deflate, bzip2, xz")).toBe("zstd");
    // What Nix 2.34+ (libcurl) sends.
    expect(negotiateEncoding("deflate, gzip, br, zstd")).toBe("zstd");
    expect(negotiateEncoding("gzip, br")).toBe("br");
    expect(negotiateEncoding("gzip")).toBe("gzip");
    expect(negotiateEncoding("zstd;q=0, gzip;q=0.1")).toBe("gzip");
  });

  it("sends identity without the header or when nothing of ours is allowed", () => {
    expect(negotiateEncoding(undefined)).toBeUndefined();
    expect(negotiateEncoding("")).toBeUndefined();
    expect(negotiateEncoding("identity")).toBeUndefined();
    expect(negotiateEncoding("deflate, xz")).toBeUndefined();
    expect(negotiateEncoding("zstd;q=0, br;q=0, gzip;q=0")).toBeUndefined();
  });

  it("reads * as every coding not named", () => {
    expect(negotiateEncoding("*")).toBe("zstd");
    expect(negotiateEncoding("*;q=0.5, identity;q=0")).toBe("zstd");
    expect(negotiateEncoding("zstd;q=0, *")).toBe("br");
    expect(negotiateEncoding("*;q=0")).toBeUndefined();
    expect(negotiateEncoding("*;q=0, gzip")).toBe("gzip");
  });
});
