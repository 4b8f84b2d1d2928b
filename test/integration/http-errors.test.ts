// Bad requests get a 4xx with a short fixed body: never a 5xx, a path, SQL or a stack trace.

import { beforeAll, describe, expect, it } from "vitest";
import { get } from "../support/http.ts";
import { hasNix, hashOf, STORE_NIX } from "../support/nix.ts";
import { servedStore } from "../support/server.ts";

const FIXED_BODIES = ["bad request\n", "not found\n", "method not allowed\n"];
const VALID_NAR_HASH = "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73";
const ABSENT_HASH = "00000000000000000000000000000000";

describe.skipIf(!hasNix)("bad requests", () => {
  const served = servedStore(STORE_NIX, ["topFile"]);
  let hash: string;
  let narHash: string;

  beforeAll(async () => {
    hash = hashOf(served.paths.get("topFile") ?? "");
    const narinfo = (await get(served.server.url, `/${hash}.narinfo`)).body.toString();
    narHash = /^NarHash: sha256:(.*)$/m.exec(narinfo)?.[1] ?? "";
  });

  const cases: [string, string, number][] = [
    ["GET", "/abc.narinfo", 400],
    ["GET", `/${"e".repeat(32)}.narinfo`, 400],
    ["GET", `/${"A".repeat(32)}.narinfo`, 400],
    ["GET", `/${"0".repeat(33)}.narinfo`, 400],
    ["GET", "/%2e%2e/%2e%2e/etc/passwd", 404],
    ["GET", "/../../etc/passwd", 404],
    ["GET", "/nar/../../../etc/passwd", 404],
    ["GET", "/nar/%2e%2e%2f%2e%2e%2fetc%2fpasswd.nar", 404],
    ["GET", `/nar/${"e".repeat(52)}.nar?hash=${ABSENT_HASH}`, 400],
    ["GET", `/nar/${VALID_NAR_HASH}.nar?hash=../../etc`, 400],
    ["GET", `/nar/${VALID_NAR_HASH}.nar`, 404],
    ["GET", `/nar/${VALID_NAR_HASH}.nar?hash=${ABSENT_HASH}`, 404],
    ["GET", `/nar/${ABSENT_HASH}-${VALID_NAR_HASH}.nar`, 404],
    ["GET", `/nar/${ABSENT_HASH}.nar`, 404],
    ["GET", `/${ABSENT_HASH}.narinfo`, 404],
    ["GET", `/${ABSENT_HASH}.narinfo%00`, 404],
    ["GET", "/nix-cache-info/", 404],
    ["GET", `/x${"a".repeat(8000)}`, 404],
    ["GET", "/no/such/route", 404],
    ["POST", "/nix-cache-info", 405],
    ["PUT", `/${ABSENT_HASH}.narinfo`, 405],
    ["DELETE", `/nar/${ABSENT_HASH}.nar`, 405],
  ];

  it.each(cases)("%s %s is %i with a fixed body", async (method, path, status) => {
    const response = await get(served.server.url, path, { method });
    expect(response.status).toBe(status);
    expect(FIXED_BODIES).toContain(response.body.toString());
    expect(response.headers["cache-control"]).toBe("no-store");
    if (status === 405) expect(response.headers["allow"]).toContain("GET");
  });

  it("answers a NAR URL whose NAR hash is not the path's with 404", async () => {
    expect((await get(served.server.url, `/nar/${narHash}.nar?hash=${hash}`)).status).toBe(200);
    expect((await get(served.server.url, `/nar/${VALID_NAR_HASH}.nar?hash=${hash}`)).status).toBe(
      404,
    );
    expect((await get(served.server.url, `/nar/${hash}-${VALID_NAR_HASH}.nar`)).status).toBe(404);
  });

  it("logs nothing as an internal error for any of them", () => {
    expect(served.server.stderr()).not.toContain("error request failed");
  });
});
