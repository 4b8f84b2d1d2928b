// Responses of a private cache are for the client that asked. Routes mark what they send
// `public, max-age=...` for public caches; `public` would also let a shared cache (a proxy,
// a CDN) keep an answer to a request with credentials and hand it to anyone (RFC 9111,
// section 3.5). For a request that needed a token, `public` becomes `private` as the headers
// go out, so that the routes stay unaware of access.

import type { OutgoingHttpHeaders, ServerResponse } from "node:http";

function privately(cacheControl: string): string {
  return cacheControl.replace(/(^|,\s*)public(?=\s*(,|$))/i, "$1private");
}

/** Makes `res` send `private` where a route says `public`, whichever way it sets the header. */
export function keepPrivate(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (
    status: number,
    ...rest: (string | OutgoingHttpHeaders | undefined)[]
  ) => ServerResponse;
  res.writeHead = ((status: number, ...rest: (string | OutgoingHttpHeaders | undefined)[]) => {
    const set = res.getHeader("cache-control");
    if (typeof set === "string") res.setHeader("cache-control", privately(set));
    const args = rest.map((part) => {
      const given = typeof part === "object" ? part["cache-control"] : undefined;
      return typeof part === "object" && typeof given === "string"
        ? { ...part, "cache-control": privately(given) }
        : part;
    });
    return writeHead(status, ...args);
  }) as typeof res.writeHead;
}
