// Store paths checked before they are sent. A daemon that cannot parse a request's store path
// refuses before it starts work and then closes the connection, sending its error twice: cheaper
// and clearer to refuse here, with the connection untouched.

import { isStoreBaseName } from "../../core/nix/store-path.ts";

/** `path` if it is an absolute path ending in `<hash>-<name>`; TypeError otherwise. */
export function storePathArgument(path: string): string {
  const slash = path.lastIndexOf("/");
  if (!path.startsWith("/") || slash <= 0 || !isStoreBaseName(path.slice(slash + 1))) {
    throw new TypeError(`not a store path: ${JSON.stringify(path)}`);
  }
  return path;
}
