// Nix's key files: `<name>:<base64>`, 64 bytes for a secret key (Ed25519 seed followed by the
// public key, libsodium's layout) and 32 bytes for a public key.

import { createPrivateKey, createPublicKey, sign, type KeyObject } from "node:crypto";

export interface SigningKey {
  readonly name: string;
  /** `<name>:<base64 of the 32-byte public key>`, as clients put in trusted-public-keys. */
  readonly publicKey: string;
  /** Returns `<name>:<base64 signature>` of `message`. */
  sign(message: string): string;
}

export type KeyParseResult =
  { readonly ok: true; readonly key: SigningKey } | { readonly ok: false; readonly reason: string };

// PKCS#8 DER prefix for an Ed25519 private key; the 32-byte seed follows it.
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

function privateKeyFromSeed(seed: Buffer): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
}

function rawPublicKey(privateKey: KeyObject): Buffer {
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  return Buffer.from(jwk.x ?? "", "base64url");
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Names longer than this are not quoted in messages: the text before a colon could be a secret. */
const QUOTED_NAME_MAX = 64;

/**
 * Why `name` cannot name a key, or undefined. Nix splits `<name>:<base64>` at the first colon
 * and refuses an empty name; a name with white space or control characters would also break
 * the `Sig:` line it is written into (a newline starts a line of the client's choosing) and the
 * space-separated lists of nix.conf.
 */
export function keyNameProblem(name: string): string | undefined {
  if (name === "") return "the key name (before the colon) is empty";
  // Quoted with its invisible characters escaped, so that a message shows what is there.
  const quoted =
    name.length <= QUOTED_NAME_MAX
      ? JSON.stringify(name).replace(
          /[\p{C}\p{Zl}\p{Zp}]/gu,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
        )
      : "";
  const what = quoted === "" ? "the key name (before the first colon)" : `the key name ${quoted}`;
  if (name.includes(":")) return `${what} contains a colon`;
  if (/\s/u.test(name)) return `${what} contains white space`;
  if (/[\p{Cc}\p{Cf}]/u.test(name)) return `${what} contains control characters`;
  return undefined;
}

function splitKeyText(text: string): { name: string; bytes: Buffer } | string {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(":");
  if (colon <= 0)
    return "expected <name>:<base64>, as written by nix-store --generate-binary-cache-key";
  const name = trimmed.slice(0, colon);
  const encoded = trimmed.slice(colon + 1);
  const nameProblem = keyNameProblem(name);
  if (nameProblem !== undefined) {
    return `${nameProblem}; a key name has no white space, colons or control characters (write it as \`cache.example.org-1\`, and the same in clients' trusted-public-keys)`;
  }
  if (!BASE64.test(encoded)) return "the part after the colon is not base64";
  return { name, bytes: Buffer.from(encoded, "base64") };
}

export function parseSecretKey(text: string): KeyParseResult {
  const parts = splitKeyText(text);
  if (typeof parts === "string") return { ok: false, reason: parts };
  const { name, bytes } = parts;
  if (bytes.length !== 64) {
    return {
      ok: false,
      reason: `a secret key has 64 bytes, this one ${bytes.length}${bytes.length === 32 ? " (is it the public key?)" : ""}`,
    };
  }
  const privateKey = privateKeyFromSeed(bytes.subarray(0, 32));
  const publicKey = rawPublicKey(privateKey);
  if (!publicKey.equals(bytes.subarray(32))) {
    return { ok: false, reason: "its public half does not match its seed" };
  }
  return {
    ok: true,
    key: {
      name,
      publicKey: `${name}:${publicKey.toString("base64")}`,
      sign: (message) =>
        `${name}:${sign(null, Buffer.from(message), privateKey).toString("base64")}`,
    },
  };
}

/** Parses a public key `<name>:<base64 of 32 bytes>`; returns its raw bytes or a reason. */
export function parsePublicKey(
  text: string,
): { ok: true; name: string; bytes: Buffer } | { ok: false; reason: string } {
  const parts = splitKeyText(text);
  if (typeof parts === "string") return { ok: false, reason: parts };
  if (parts.bytes.length !== 32) {
    return { ok: false, reason: `a public key has 32 bytes, this one ${parts.bytes.length}` };
  }
  return { ok: true, ...parts };
}

/** A fresh key pair in Nix's file formats. */
export function generateKeyPair(name: string): { secret: string; public: string } {
  const problem = keyNameProblem(name);
  if (problem !== undefined) throw new Error(problem);
  const seed = globalThis.crypto.getRandomValues(Buffer.alloc(32));
  const publicKey = rawPublicKey(privateKeyFromSeed(seed));
  return {
    secret: `${name}:${Buffer.concat([seed, publicKey]).toString("base64")}`,
    public: `${name}:${publicKey.toString("base64")}`,
  };
}
