// A store path as a person types it: the logical path (/nix/store/<hash>-<name>) even for a
// chroot store, or the real one where the files are (/tmp/x/nix/store/<hash>-<name>).

import { storePathBaseName } from "./store-path.ts";

/** The logical store path that `text` names, or undefined when it names no store path. */
export function logicalStorePath(
  text: string,
  virtualStoreDir: string,
  realStoreDir: string,
): string | undefined {
  const path = text.replace(/(.)\/+$/, "$1");
  const baseName =
    storePathBaseName(virtualStoreDir, path) ?? storePathBaseName(realStoreDir, path);
  return baseName === undefined ? undefined : `${virtualStoreDir}/${baseName}`;
}
