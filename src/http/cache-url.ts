// The URL clients should put in nix.conf, from what the request says about how it reached us.
// Host and X-Forwarded-Proto are the client's (or a proxy's) to choose, so only a plain
// `host[:port]` and `http`/`https` are taken; anything else gives an obvious placeholder.

/** Shown in place of a Host header we will not repeat. */
export const PLACEHOLDER_HOST = "CACHE-HOST";

// A DNS name (labels of letters, digits and hyphens), an IPv4 address, or a bracketed IPv6
// address; then an optional port.
const HOST_PATTERN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

export function cacheUrl(
  host: string | undefined,
  forwardedProto: string | undefined,
  encrypted: boolean,
): string {
  const proto = forwardedProto?.split(",")[0]?.trim().toLowerCase();
  const scheme = proto === "http" || proto === "https" ? proto : encrypted ? "https" : "http";
  const safeHost =
    host !== undefined && host.length <= 260 && HOST_PATTERN.test(host) ? host : PLACEHOLDER_HOST;
  return `${scheme}://${safeHost}`;
}
