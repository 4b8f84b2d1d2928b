// The route table's machinery: a route is a name (the pattern, used in logs and metrics), a
// regular expression over the raw URL path, and the methods it answers. URL paths are matched
// undecoded against strict patterns, so `%2e%2e` and friends match nothing and are 404s.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Scope } from "../core/scopes.ts";
import type { Services } from "./services.ts";

/**
 * What a route is given. A route names the services it uses (`Route<"config" | "store">`) and
 * sees only those: the type says what each route depends on, and a route that reaches for more
 * does not compile. It reads them per request, as a reload replaces `config`, `keys` and
 * `adminTokens` in place.
 */
export interface RequestContext<K extends keyof Services = keyof Services> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The capture groups of the route's pattern. */
  readonly params: readonly string[];
  /** The query string's parameters; routes only read them. */
  readonly query: Pick<URLSearchParams, "get">;
  readonly services: Pick<Services, K>;
  /** The name of the token the request was let through with; undefined where none was needed. */
  readonly token: string | undefined;
}

export interface Route<K extends keyof Services = keyof Services> {
  /** The route pattern as a person writes it, e.g. `/<hash>.narinfo`. */
  readonly name: string;
  readonly pattern: RegExp;
  /** GET routes answer HEAD too, with the same headers and no body. */
  readonly methods: readonly ("GET" | "HEAD" | "PUT" | "DELETE" | "POST")[];
  /**
   * The scope a request needs, checked before `handle` runs (which never looks at credentials):
   * `read` for what shows the store (open when the cache is public), `none` for routes open to
   * all.
   */
  readonly scope: Scope | "none";
  readonly handle: (context: RequestContext<K>) => void | Promise<void>;
}

export type RouteLookup =
  | { readonly kind: "found"; readonly route: Route; readonly params: readonly string[] }
  | { readonly kind: "not_found" }
  | { readonly kind: "method_not_allowed"; readonly allow: string };

export function findRoute(routes: readonly Route[], method: string, path: string): RouteLookup {
  let allowed: string[] | undefined;
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (match === null) continue;
    if (answers(route, method)) return { kind: "found", route, params: match.slice(1) };
    allowed = [...(allowed ?? []), ...route.methods];
    if (route.methods.includes("GET")) allowed.push("HEAD");
  }
  return allowed === undefined
    ? { kind: "not_found" }
    : { kind: "method_not_allowed", allow: allowed.join(", ") };
}

/** Whether `route` answers `method`: HEAD wherever GET is. Nothing is allocated for a hit. */
function answers(route: Route, method: string): boolean {
  const methods: readonly string[] = route.methods;
  return methods.includes(method) || (method === "HEAD" && methods.includes("GET"));
}
