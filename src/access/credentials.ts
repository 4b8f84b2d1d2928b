// The credentials of a request, from its Authorization header: `Basic` (what Nix sends, from a
// netrc file, through curl) or `Bearer` (scripts, CI). Pure: no secret is kept or logged here.

export type Credentials =
  | { readonly kind: "none" }
  | { readonly kind: "malformed" }
  | { readonly kind: "basic"; readonly login: string; readonly secret: string }
  | { readonly kind: "bearer"; readonly secret: string };

const NONE: Credentials = { kind: "none" };
const MALFORMED: Credentials = { kind: "malformed" };

/** Longer than any header a real client sends for a 64-character login and a secret. */
const MAX_HEADER_LENGTH = 1024;

export function parseCredentials(authorization: string | undefined): Credentials {
  if (authorization === undefined || authorization === "") return NONE;
  if (authorization.length > MAX_HEADER_LENGTH) return MALFORMED;
  const match = /^([A-Za-z]+) +(\S+) *$/.exec(authorization);
  if (match === null) return MALFORMED;
  const scheme = (match[1] ?? "").toLowerCase();
  const value = match[2] ?? "";
  if (scheme === "bearer") return { kind: "bearer", secret: value };
  if (scheme !== "basic" || !/^[A-Za-z0-9+/]+=*$/.test(value)) return MALFORMED;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon === -1) return MALFORMED;
  return { kind: "basic", login: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}
