// The daemon caches signed narinfos; what it serves must still follow the store: a pushed path
// appears at once, a re-signed path shows its new signature, a collected path is gone.

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  hasNix,
  makeTestStore,
  nixBuild,
  nixCommand,
  type TestStore,
  hashOf,
} from "../support/nix.ts";
import { generateKey, startServer, type RunningServer } from "../support/server.ts";
import { waitForValue } from "../support/wait.ts";

const FIXTURE = new URL("../fixtures/store.nix", import.meta.url).pathname;

describe.skipIf(!hasNix)("narinfo freshness", () => {
  let source: TestStore;
  let served: TestStore;
  let server: RunningServer | undefined;
  let pushed = "";

  const narInfo = async (storePath: string): Promise<{ status: number; text: string }> => {
    const response = await fetch(`${server?.url ?? ""}/${hashOf(storePath)}.narinfo`);
    return { status: response.status, text: await response.text() };
  };

  beforeAll(async () => {
    source = makeTestStore("storefront-fresh-source-");
    served = makeTestStore("storefront-fresh-served-");
    pushed = nixBuild(source, FIXTURE, ["topFile"]).get("topFile") ?? "";
    nixBuild(served, FIXTURE, ["topExe"]);
    const { secret } = await generateKey(served.root, "ours-1");
    server = await startServer(
      served.root,
      [
        `bind = "127.0.0.1:0"`,
        `real_nix_store = "${served.realStoreDir}"`,
        `sign_key_paths = ["${secret}"]`,
      ].join("\n"),
    );
  });

  afterAll(async () => {
    await server?.stop();
    source.remove();
    served.remove();
  });

  it("follows paths added, re-signed and collected", async () => {
    expect((await narInfo(pushed)).status).toBe(404);
    const copy = nixCommand(
      ["copy", "--from", source.root, "--to", served.root, "--no-check-sigs", pushed],
      join(served.root, "cache-home"),
    );
    expect(copy.status, copy.output).toBe(0);
    // Misses are never cached: the pushed path is there at once, without waiting.
    const added = await narInfo(pushed);
    expect(added.status).toBe(200);
    expect(added.text).toMatch(/^Sig: ours-1:/m);
    expect(added.text).not.toContain("other-1:");
    expect((await narInfo(pushed)).text).toBe(added.text);

    const otherKey = join(served.root, "other-secret");
    const generated = spawnSync("nix-store", [
      "--generate-binary-cache-key",
      "other-1",
      otherKey,
      join(served.root, "other-public"),
    ]);
    expect(generated.status).toBe(0);
    const signed = nixCommand(
      ["store", "sign", "--store", served.root, "--key-file", otherKey, pushed],
      join(served.root, "cache-home"),
    );
    expect(signed.status, signed.output).toBe(0);
    const resigned = await waitForValue("the new signature", async () => {
      const info = await narInfo(pushed);
      return info.text.includes("Sig: other-1:") ? info : undefined;
    });
    expect(resigned.text).toMatch(/^Sig: ours-1:/m);

    const collected = spawnSync("nix-store", ["--gc", "--store", served.root], {
      encoding: "utf8",
    });
    expect(collected.status, collected.stderr).toBe(0);
    await waitForValue("the collected path to be gone", async () =>
      (await narInfo(pushed)).status === 404 ? true : undefined,
    );
  });
});
