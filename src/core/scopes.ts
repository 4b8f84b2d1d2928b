// What a token may do. One type, checked in one place (authorize.ts): a route names the scope
// it needs in the route table, a token carries the scopes it was given in the config.

/** `read`: the store's contents; `push`: uploads; `pin`: the pins API. */
export type Scope = "read" | "push" | "pin";

export const SCOPES: readonly Scope[] = ["read", "push", "pin"];

/** The scopes a config may name: the three, and `admin`, short for all of them. */
export const SCOPE_NAMES = [...SCOPES, "admin"] as const;

/** The scopes `name` stands for; undefined: not a scope. */
export function scopesOf(name: string): readonly Scope[] | undefined {
  if (name === "admin") return SCOPES;
  return SCOPES.find((scope) => scope === name) === undefined ? undefined : [name as Scope];
}
