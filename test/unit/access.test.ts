// The access decision with plain values: credentials parsed, tokens matched by secret (and by
// login for Basic), scopes checked, and a public cache's reads let through untouched.

import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { AccessControl } from "../../src/access/access-control.ts";
import { authorize, type AccessPolicy } from "../../src/access/authorize.ts";
import { parseCredentials } from "../../src/access/credentials.ts";
import { secretDigest, type Token } from "../../src/access/tokens.ts";
import type { Scope } from "../../src/core/scopes.ts";
import { createLogger } from "../../src/log.ts";

const READER = "reader-secret-0123456789abcdef";
const PINNER = "pinner-secret-0123456789abcdef";
const ADMIN = "admin-secret-0123456789abcdefgh";

function token(name: string | undefined, secret: string, scopes: Scope[]): Token {
  return { name, digest: secretDigest(secret), scopes: new Set(scopes) };
}

const tokens = [
  token("ci", READER, ["read"]),
  token("deploy", PINNER, ["read", "pin"]),
  token(undefined, ADMIN, ["read", "push", "pin"]),
];
const privateCache: AccessPolicy = { public: false, tokens };
const publicCache: AccessPolicy = { public: true, tokens };

const basic = (login: string, secret: string): string =>
  `Basic ${Buffer.from(`${login}:${secret}`).toString("base64")}`;

describe("credentials", () => {
  it("reads Basic and Bearer, any case of the scheme", () => {
    expect(parseCredentials(basic("ci", "a:b"))).toEqual({
      kind: "basic",
      login: "ci",
      secret: "a:b",
    });
    expect(parseCredentials("bearer xyz")).toEqual({ kind: "bearer", secret: "xyz" });
    expect(parseCredentials(undefined)).toEqual({ kind: "none" });
  });

  it.each([
    "Basic",
    "Basic !!!",
    `Basic ${Buffer.from("no-colon").toString("base64")}`,
    "Digest x",
    READER,
    `Bearer ${"x".repeat(2000)}`,
  ])("calls %j malformed", (header) => {
    expect(parseCredentials(header).kind).toBe("malformed");
  });
});

describe("authorize", () => {
  it("lets a public cache's reads through without credentials", () => {
    expect(authorize(publicCache, undefined, "read").kind).toBe("ok");
    expect(authorize(publicCache, "Basic garbage!", "read").kind).toBe("ok");
  });

  it("takes the login and secret of a token, over Basic or Bearer", () => {
    expect(authorize(privateCache, basic("ci", READER), "read").kind).toBe("ok");
    expect(authorize(privateCache, `Bearer ${READER}`, "read").kind).toBe("ok");
    expect(authorize(privateCache, basic("anyone", ADMIN), "pin").kind).toBe("ok");
  });

  it.each([
    [undefined, "missing"],
    ["Digest abc", "malformed"],
    [basic("ci", `${READER}x`), "invalid"],
    [basic("deploy", READER), "invalid"],
    [basic("ci ", READER), "invalid"],
    [`Bearer ${READER.slice(1)}`, "invalid"],
  ])("refuses %j as %s", (header, reason) => {
    expect(authorize(privateCache, header, "read")).toMatchObject({ kind: "refused", reason });
  });

  it("refuses a token without the scope (403), and lets one with it pin", () => {
    expect(authorize(privateCache, basic("ci", READER), "pin")).toEqual({
      kind: "refused",
      reason: "forbidden",
      login: "ci",
    });
    expect(authorize(publicCache, `Bearer ${READER}`, "pin")).toMatchObject({
      reason: "forbidden",
    });
    expect(authorize(privateCache, basic("deploy", PINNER), "pin").kind).toBe("ok");
    expect(authorize(privateCache, basic("deploy", PINNER), "push").kind).toBe("refused");
  });

  it("turns off the routes of a scope no token has, but never reading", () => {
    const readersOnly: AccessPolicy = { public: false, tokens: [tokens[0] as Token] };
    expect(authorize(readersOnly, basic("ci", READER), "pin").kind).toBe("off");
    expect(authorize(readersOnly, basic("ci", READER), "push").kind).toBe("off");
    expect(authorize({ public: false, tokens: [] }, undefined, "read").kind).toBe("refused");
  });
});

describe("AccessControl", () => {
  function request(authorization: string | undefined): IncomingMessage {
    const req = new IncomingMessage(new Socket());
    if (authorization !== undefined) req.headers.authorization = authorization;
    return req;
  }

  it("counts every refusal by reason, logs a flood from one client in few lines, never the secret", async () => {
    const lines: string[] = [];
    const registry = new Registry();
    const access = new AccessControl(
      privateCache,
      createLogger((line) => lines.push(line)),
      registry,
    );
    const res = new ServerResponse(request(undefined));
    for (let i = 0; i < 30; i++) {
      expect(() => {
        access.check(request(basic("ci", `${READER}${i}`)), res, "/<hash>.narinfo", "read");
      }).toThrow(expect.objectContaining({ code: "unauthorized" }));
    }
    expect(() => {
      access.check(request(basic("ci", READER)), res, "/api/v1/pins", "pin");
    }).toThrow(expect.objectContaining({ code: "forbidden" }));
    const text = await registry.metrics();
    expect(text).toContain('storefront_auth_failures_total{reason="invalid"} 30');
    expect(text).toContain('storefront_auth_failures_total{reason="forbidden"} 1');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe(
      "warn authentication failed status=401 reason=invalid client=unknown login=ci route=/<hash>.narinfo\n",
    );
    expect(lines.join("")).not.toContain(READER);
  });

  it("serves the policy it was last given (a reload swaps it)", () => {
    const access = new AccessControl(
      privateCache,
      createLogger(() => undefined),
      new Registry(),
    );
    const res = new ServerResponse(request(undefined));
    expect(() => {
      access.check(request(undefined), res, "/nix-cache-info", "read");
    }).toThrow();
    access.replace(publicCache);
    expect(() => {
      access.check(request(undefined), res, "/nix-cache-info", "read");
    }).not.toThrow();
  });
});
