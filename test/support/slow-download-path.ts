// A store path with one 24 MB file: a download that lasts while a client reads it slowly.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { makeTestStore, nixBuild, type TestStore } from "./nix.ts";

const FIXTURE = new URL("../fixtures/slow-download.nix", import.meta.url).pathname;

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
  const storePath = nixBuild(store, FIXTURE, ["file"]).get("file") ?? "";
  const nar = execFileSync("nix-store", ["--dump", store.realPath(storePath)], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const hashPart = storePath.slice("/nix/store/".length, "/nix/store/".length + 32);
  return {
    store,
    narUrlPath: `/nar/${hashPart}.nar`,
    narSize: nar.length,
    narSha256: createHash("sha256").update(nar).digest("hex"),
  };
}
