import * as ed from "@noble/ed25519";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fingerprint } from "../../src/core/nix/fingerprint.ts";
import { narInfoSignatures } from "../../src/core/nix/signatures.ts";
import { renderCacheInfo, renderNarInfo } from "../../src/core/nix/narinfo.ts";
import { narHashToNix32, type PathInfo } from "../../src/core/nix/path-info.ts";
import { parsePublicKey, parseSecretKey } from "../../src/core/nix/signing-key.ts";

const keyFile = (name: string): string =>
  readFileSync(new URL(`../fixtures/keys/${name}`, import.meta.url), "utf8");

const info: PathInfo = {
  storePath: "/nix/store/i1zayxg0gfg0y8q4rca7sv6i2dmmjykw-app",
  narHash: "sha256:01cy60fc2blfcv4iav2ax037n5jmvslqahbfsjzgcdr047bkr215",
  narSize: 800,
  references: [
    "/nix/store/pzdkav7jg4ps1nml9g845a5sp5lisn1g-top-file",
    "/nix/store/7ij6v8ysyz3c3zirbizrw33460krgcij-lib",
  ],
  deriver: "/nix/store/665i3l4jkdyr5m8g80j42r0j44w3bqfs-app.drv",
  signatures: ["cache.nixos.org-1:c2lnbmF0dXJl"],
  ca: undefined,
};

/** A well-formed signature (64 bytes of base64) by key `name`. */
const sig = (name: string, fill = "A"): string => `${name}:${fill.repeat(86)}==`;

describe("narinfo", () => {
  it("is written in Nix's field order with base-name references, sorted", () => {
    expect(renderNarInfo(info, "/nix/store", [sig("k")])).toBe(
      [
        "StorePath: /nix/store/i1zayxg0gfg0y8q4rca7sv6i2dmmjykw-app",
        "URL: nar/01cy60fc2blfcv4iav2ax037n5jmvslqahbfsjzgcdr047bkr215.nar?hash=i1zayxg0gfg0y8q4rca7sv6i2dmmjykw",
        "Compression: none",
        "NarHash: sha256:01cy60fc2blfcv4iav2ax037n5jmvslqahbfsjzgcdr047bkr215",
        "NarSize: 800",
        "References: 7ij6v8ysyz3c3zirbizrw33460krgcij-lib pzdkav7jg4ps1nml9g845a5sp5lisn1g-top-file",
        "Deriver: 665i3l4jkdyr5m8g80j42r0j44w3bqfs-app.drv",
        `Sig: ${sig("k")}`,
        "",
      ].join("\n"),
    );
  });

  it("omits an unknown deriver, keeps an empty References line, and ends with CA", () => {
    const text = renderNarInfo(
      { ...info, references: [], deriver: undefined, ca: "fixed:r:sha256:abc" },
      "/nix/store",
      [],
    );
    expect(text).toContain("\nReferences: \n");
    expect(text).not.toContain("Deriver");
    expect(text.endsWith("NarSize: 800\nReferences: \nCA: fixed:r:sha256:abc\n")).toBe(true);
  });

  it("leaves out signatures, a deriver and a CA that would inject lines or are malformed", () => {
    const injected = "StorePath: /nix/store/00000000000000000000000000000000-evil";
    const text = renderNarInfo(
      {
        ...info,
        deriver: `/nix/store/665i3l4jkdyr5m8g80j42r0j44w3bqfs-app.drv\n${injected}`,
        ca: `fixed:r:sha256:abc\n${injected}`,
      },
      "/nix/store",
      [
        sig("good-1"),
        sig("te st"),
        `${sig("x")}\n${injected}`,
        `te st\nx:${"A".repeat(86)}==`,
        "short:c2lnbmF0dXJl",
        sig("good-2", "B"),
      ],
    );
    expect(text.split("\n").filter((line) => line.startsWith("StorePath:"))).toHaveLength(1);
    expect(text).not.toContain("evil");
    expect(text).not.toContain("Deriver:");
    expect(text).not.toContain("CA:");
    expect(text.match(/^Sig: .*$/gm)).toEqual([
      `Sig: ${sig("good-1")}`,
      `Sig: ${sig("good-2", "B")}`,
    ]);
    // Every line is a `Key: value` line.
    expect(
      text
        .trimEnd()
        .split("\n")
        .every((line) => /^[A-Za-z]+: /.test(line)),
    ).toBe(true);
  });

  it("refuses a reference that is not a store path rather than write it", () => {
    expect(() =>
      renderNarInfo(
        { ...info, references: ["/nix/store/7ij6v8ysyz3c3zirbizrw33460krgcij-lib\nSig: x:y"] },
        "/nix/store",
        [],
      ),
    ).toThrow("not a store path");
  });

  it("renders nix-cache-info", () => {
    expect(renderCacheInfo("/nix/store", 30)).toBe(
      "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n",
    );
  });

  it("converts the database's base16 NarHash to nix-base32", () => {
    expect(
      narHashToNix32("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ).toBe("sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73");
    expect(narHashToNix32("sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73")).toBe(
      "sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73",
    );
    expect(narHashToNix32("md5:abc")).toBeUndefined();
    expect(narHashToNix32("sha256:xyz")).toBeUndefined();
  });
});

describe("fingerprint and signatures", () => {
  it("is Nix's fingerprint with full, sorted reference paths", () => {
    expect(fingerprint(info)).toBe(
      "1;/nix/store/i1zayxg0gfg0y8q4rca7sv6i2dmmjykw-app;" +
        "sha256:01cy60fc2blfcv4iav2ax037n5jmvslqahbfsjzgcdr047bkr215;800;" +
        "/nix/store/7ij6v8ysyz3c3zirbizrw33460krgcij-lib," +
        "/nix/store/pzdkav7jg4ps1nml9g845a5sp5lisn1g-top-file",
    );
    expect(fingerprint({ ...info, references: [] }).endsWith(";800;")).toBe(true);
  });

  it("signs so that an independent Ed25519 implementation verifies it", async () => {
    const parsed = parseSecretKey(keyFile("test-1.secret"));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.key.publicKey).toBe(keyFile("test-1.public").trim());

    const signatures = narInfoSignatures(info, [parsed.key]);
    expect(signatures[0]).toBe("cache.nixos.org-1:c2lnbmF0dXJl");
    const ours = signatures[1] ?? "";
    expect(ours.startsWith("storefront-test-1:")).toBe(true);

    const publicKey = parsePublicKey(keyFile("test-1.public"));
    if (!publicKey.ok) throw new Error(publicKey.reason);
    const signature = Buffer.from(ours.slice(ours.indexOf(":") + 1), "base64");
    const message = new TextEncoder().encode(fingerprint(info));
    expect(await ed.verifyAsync(signature, message, publicKey.bytes)).toBe(true);
    expect(await ed.verifyAsync(signature, message.subarray(1), publicKey.bytes)).toBe(false);
  });

  it("adds one signature per configured key", () => {
    const keys = ["test-1.secret", "other-1.secret"].map((name) => {
      const parsed = parseSecretKey(keyFile(name));
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.key;
    });
    const signatures = narInfoSignatures(info, keys);
    expect(signatures.map((sig) => sig.slice(0, sig.indexOf(":")))).toEqual([
      "cache.nixos.org-1",
      "storefront-test-1",
      "other-key-1",
    ]);
  });

  it("replaces a stored signature by one of our own key names instead of repeating it", () => {
    const parsed = parseSecretKey(keyFile("test-1.secret"));
    if (!parsed.ok) throw new Error(parsed.reason);
    const stale = { ...info, signatures: ["storefront-test-1:b2xk", "other:c2ln"] };
    const signatures = narInfoSignatures(stale, [parsed.key]);
    expect(signatures).toHaveLength(2);
    expect(signatures[0]).toBe("other:c2ln");
    expect(signatures[1]).not.toBe("storefront-test-1:b2xk");
  });
});

describe("secret key files", () => {
  it("refuses a key whose public half does not match its seed", () => {
    const good = Buffer.from(keyFile("test-1.secret").split(":")[1] ?? "", "base64");
    const other = Buffer.from(keyFile("other-1.secret").split(":")[1] ?? "", "base64");
    const mixed = Buffer.concat([good.subarray(0, 32), other.subarray(32)]).toString("base64");
    const result = parseSecretKey(`mixed:${mixed}`);
    expect(result).toEqual({ ok: false, reason: "its public half does not match its seed" });
  });

  it("says what is wrong with a public key given as a secret one, or no key at all", () => {
    const asSecret = parseSecretKey(keyFile("test-1.public"));
    expect(asSecret.ok).toBe(false);
    expect(!asSecret.ok && asSecret.reason).toContain("is it the public key?");
    expect(parseSecretKey("no colon here").ok).toBe(false);
    expect(parseSecretKey("name:***").ok).toBe(false);
  });

  it.each([
    ["te st\nx", 'the key name "te st\\nx" contains white space'],
    ["te\tst", "contains white space"],
    ["a\u0085b", 'the key name "a\\u0085b" contains control characters'],
    ["a\u202eb", 'the key name "a\\u202eb" contains control characters'],
    ["a\u0000b", "contains control characters"],
  ])("refuses a key named %j, which would break the Sig line (%s)", (name, reason) => {
    const encoded = keyFile("test-1.secret").trim().split(":")[1] ?? "";
    const result = parseSecretKey(`${name}:${encoded}`);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
    expect(!result.ok && result.reason).not.toContain(encoded);
  });

  it("refuses an empty key name, and does not quote a long one (it could be a secret)", () => {
    const encoded = keyFile("test-1.secret").trim().split(":")[1] ?? "";
    const empty = parsePublicKey(`:${encoded.slice(0, 44)}`);
    expect(empty.ok).toBe(false);
    const long = parseSecretKey(`${encoded.slice(0, 80)} x:${encoded}`);
    expect(!long.ok && long.reason).toContain("the key name (before the first colon) contains");
    expect(!long.ok && long.reason).not.toContain(encoded.slice(0, 80));
  });
});
