// src/start.js (which src/bin.js runs): Node's compile cache, in a directory only storefront's
// user can use, so that a worker started again does not load the type stripper; and no cache,
// not a failure, where that directory cannot be made.

import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";

describe("the compile cache", () => {
  it("is kept in $CACHE_DIRECTORY/node-compile-cache, private to the user", async () => {
    const cacheDirectory = tempDir();
    const result = await runCli(["--version"], { CACHE_DIRECTORY: cacheDirectory });
    expect(result.code).toBe(0);
    const directory = join(cacheDirectory, "node-compile-cache");
    expect(statSync(directory).mode & 0o777).toBe(0o700);
    // Written when the process exits: one subdirectory per Node version.
    expect(readdirSync(directory).length).toBeGreaterThan(0);
  });

  it("is left out, and storefront runs, where the directory cannot be made", async () => {
    const notADirectory = join(tempDir(), "file");
    writeFileSync(notADirectory, "");
    const result = await runCli(["--version"], { CACHE_DIRECTORY: notADirectory });
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^storefront /);
  });

  it("is not used with NODE_DISABLE_COMPILE_CACHE", async () => {
    const cacheDirectory = tempDir();
    const result = await runCli(["--version"], {
      CACHE_DIRECTORY: cacheDirectory,
      NODE_DISABLE_COMPILE_CACHE: "1",
    });
    expect(result.code).toBe(0);
    expect(existsSync(join(cacheDirectory, "node-compile-cache"))).toBe(false);
  });
});
