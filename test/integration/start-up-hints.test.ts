// What `serve` tells a new operator at start: the command that makes a signing key when none is
// configured (clients refuse unsigned paths built here), and how to put a first path into an
// empty store. Neither line appears once there is a key and a path.

import { execFileSync } from "node:child_process";
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { builtStore, hasNix, makeTestStore, STORE_NIX, type TestStore } from "../support/nix.ts";
import { generateKey, listeningPort, serveProcesses, stopWith } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";

const keyName = /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(hostname()) ? hostname() : "cache.example.org";

describe.skipIf(!hasNix)("serve's start-up hints", () => {
  const built = builtStore(STORE_NIX, ["topFile"]);
  const processes = serveProcesses("storefront-hints-");

  it.each([1, 2])(
    "an empty store without a key: one line for each, with the command (workers = %i)",
    async (workers) => {
      const empty: TestStore = makeTestStore();
      processes.afterTest(() => {
        empty.remove();
      });
      execFileSync("nix-store", ["--store", empty.root, "--init"]);
      const server = processes.spawn(
        `bind = "127.0.0.1:0"\nworkers = ${workers}\n${empty.configLine}`,
        { env: { SIGN_KEY_PATHS: "", NIX_SECRET_KEY_FILE: "" } },
      );
      // Both lines come right after "listening on", before a signal can be handled.
      await listeningPort(server);
      expect(await stopWith(server, "SIGTERM")).toBe(0);
      const lines = server.stderr().split("\n");
      expect(lines.filter((line) => line.includes("no signing key"))).toEqual([
        `warn no signing key: Nix clients refuse the paths built on this machine unless they trust this cache without signatures; make a key with \`storefront key generate ${keyName}-1 --secret /etc/storefront/secret --public /etc/storefront/public\` and add \`sign_key_paths = ["/etc/storefront/secret"]\` to the config (or set SIGN_KEY_PATHS=/etc/storefront/secret)`,
      ]);
      expect(lines.filter((line) => line.includes("store is empty"))).toEqual([
        `info the store is empty: nothing to serve yet; put a first path in it with \`nix-store --store ${empty.root} --add FILE\` (or nix-build, nix copy): it is served as soon as Nix registers it`,
      ]);
    },
  );

  it("a store with paths and a key: neither line", async () => {
    const key = await generateKey(tempDir("storefront-hints-key-"), "hints-test-1");
    const server = processes.spawn(
      `bind = "127.0.0.1:0"\nsign_key_paths = [${JSON.stringify(key.secret)}]\n${built.store.configLine}`,
    );
    await listeningPort(server);
    expect(await stopWith(server, "SIGTERM")).toBe(0);
    expect(server.stderr()).not.toContain("no signing key");
    expect(server.stderr()).not.toContain("store is empty");
  });
});
