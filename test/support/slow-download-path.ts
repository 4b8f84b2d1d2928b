// A store path of 24 MiB of random bytes (big.nix): a download that lasts a few seconds while a
// client reads it slowly, and is bigger than the socket buffers between server and client.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { FIXTURES, hashOf, makeTestStore, nixBuild, type TestStore } from "./nix.ts";

export interface SlowDownloadPath {
  readonly store: TestStore;
  /** The NAR's URL path, e.g. `/nar/<hash>.nar`. */
  readonly narUrlPath: string;
  readonly narSize: number;
  /** sha256 of the NAR as `nix-store --dump` makes it, in hex. */
  readonly narSha256: string;
}

export function buildSlowDownloadPath(): SlowDownloadPath {
  const store = makeTestStore();
  const storePath = nixBuild(store, join(FIXTURES, "big.nix"), ["big"]).get("big") ?? "";
  const nar = execFileSync("nix-store", ["--dump", store.realPath(storePath)], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    store,
    narUrlPath: `/nar/${hashOf(storePath)}.nar`,
    narSize: nar.length,
    narSha256: createHash("sha256").update(nar).digest("hex"),
  };
}
