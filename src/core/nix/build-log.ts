// Where Nix keeps a derivation's build log: `<log dir>/<first 2 chars>/<rest of the drv base
// name>`, plain or with `.bz2` (Nix compresses logs unless `compress-build-log = false`).

import { isStoreBaseName } from "./store-path.ts";

/** A validated `<hash>-<name>.drv`: safe to use as a file name. */
export type DrvBaseName = string & { readonly __brand: "DrvBaseName" };

export function parseDrvBaseName(text: string): DrvBaseName | undefined {
  return text.endsWith(".drv") && isStoreBaseName(text) ? (text as DrvBaseName) : undefined;
}

/** The log directory of a store whose files are in `realStoreDir` (`<root>/nix/store`). */
export function buildLogDir(realStoreDir: string): string {
  const root = realStoreDir.slice(0, realStoreDir.lastIndexOf("/"));
  return `${root}/var/log/nix/drvs`;
}

/** The log file of `drv`, without the `.bz2` that a compressed one has. */
export function buildLogPath(logDir: string, drv: DrvBaseName): string {
  return `${logDir}/${drv.slice(0, 2)}/${drv.slice(2)}`;
}
