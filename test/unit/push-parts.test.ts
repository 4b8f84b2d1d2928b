// The upload pipeline's parts with plain values: the strict narinfo parser, the push token
// check (Bearer, and Basic as netrc sends it), and the streaming xz decoder.

import { spawnSync } from "node:child_process";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { authorize } from "../../src/access/authorize.ts";
import { secretDigest } from "../../src/access/tokens.ts";
import type { Scope } from "../../src/core/scopes.ts";
import { parsePushedNarInfo } from "../../src/uploads/narinfo-upload.ts";
import { xzDecoder } from "../../src/uploads/xz.ts";

const HASH = "sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s";
const PATH = "/nix/store/7yfmmq4dnkqgqg8y6jgvwd1j9ycvnqb3-hello";
const REF = "0b7y6iwhb1sqk6lwyq5fqyx36ra1m3kc-lib";
const GOOD =
  `StorePath: ${PATH}\nURL: nar/1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s.nar.xz\n` +
  `Compression: xz\nFileHash: ${HASH}\nFileSize: 120\nNarHash: ${HASH}\nNarSize: 400\n` +
  `References: ${REF}\nDeriver: 2b7y6iwhb1sqk6lwyq5fqyx36ra1m3kc-hello.drv\n`;

describe("the pushed narinfo parser", () => {
  it("reads what Nix writes", () => {
    const parsed = parsePushedNarInfo(GOOD, "/nix/store");
    expect(parsed).toMatchObject({
      ok: true,
      info: {
        storePath: PATH,
        compression: "xz",
        narSize: 400,
        fileSize: 120,
        references: [`/nix/store/${REF}`],
        deriver: "/nix/store/2b7y6iwhb1sqk6lwyq5fqyx36ra1m3kc-hello.drv",
      },
    });
  });

  it.each([
    ["no final newline", GOOD.slice(0, -1)],
    ["an unknown key", GOOD + "Foo: bar\n"],
    ["a key twice", GOOD + `NarSize: 400\n`],
    ["NarSize 0", GOOD.replace("NarSize: 400", "NarSize: 0")],
    ["a malformed NarHash", GOOD.replace(`NarHash: ${HASH}`, "NarHash: md5:abc")],
    ["a reference that is no store path", GOOD.replace(REF, "../../etc/passwd")],
    ["a StorePath elsewhere", GOOD.replace(PATH, "/tmp/7yfmmq4dnkqgqg8y6jgvwd1j9ycvnqb3-hello")],
    ["a malformed Sig", GOOD + "Sig: key:notbase64\n"],
    ["a malformed CA", GOOD + "CA: sha256:whatever\n"],
    ["a line without a colon", GOOD + "garbage\n"],
  ])("refuses %s", (_what, text) => {
    expect(parsePushedNarInfo(text, "/nix/store").ok).toBe(false);
  });
});

describe("the push scope", () => {
  const SECRET = "the-push-token-0123456789";
  const policy = {
    public: true,
    tokens: [
      { name: "ci", digest: secretDigest(SECRET), scopes: new Set<Scope>(["read", "push"]) },
      {
        name: "reader",
        digest: secretDigest("a-read-token-0123456789"),
        scopes: new Set<Scope>(["read"]),
      },
    ],
  };
  const basic = (login: string, secret: string): string =>
    `Basic ${Buffer.from(`${login}:${secret}`).toString("base64")}`;

  it("takes the token as Bearer, or as HTTP Basic (netrc), and names it for the push record", () => {
    expect(authorize(policy, `Bearer ${SECRET}`, "push")).toEqual({ kind: "ok", token: "ci" });
    expect(authorize(policy, basic("ci", SECRET), "push")).toEqual({ kind: "ok", token: "ci" });
  });

  it.each([
    ["no header", undefined, "missing"],
    ["a wrong token", "Bearer not-the-token", "invalid"],
    ["Basic with a wrong password", basic("ci", "wrong"), "invalid"],
    ["a token without the push scope", "Bearer a-read-token-0123456789", "forbidden"],
  ])("refuses %s", (_what, header, reason) => {
    expect(authorize(policy, header, "push")).toMatchObject({ kind: "refused", reason });
  });

  it("is off when no token has the push scope", () => {
    expect(authorize({ public: true, tokens: [] }, `Bearer ${SECRET}`, "push")).toEqual({
      kind: "off",
    });
  });
});

describe("the xz decoder", () => {
  const plain = Buffer.from("a NAR, say\n".repeat(100_000));
  const compressed = spawnSync("xz", ["-c"], { input: plain, maxBuffer: 1 << 26 }).stdout;

  it("decodes a stream fed in small pieces", async () => {
    const pieces = [];
    for (let i = 0; i < compressed.length; i += 1000) pieces.push(compressed.subarray(i, i + 1000));
    const decoded = await buffer(Readable.from(pieces).pipe(xzDecoder()));
    expect(decoded.equals(plain)).toBe(true);
  });

  it("fails on a truncated stream rather than giving a short result", async () => {
    const cut = compressed.subarray(0, compressed.length - 10);
    await expect(
      pipeline(Readable.from([cut]), xzDecoder(), async (source: AsyncIterable<Buffer>) => {
        await buffer(source);
      }),
    ).rejects.toThrow(/xz/);
  });
});
