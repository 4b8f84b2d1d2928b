// What a new user meets in the first hour, run through the real CLI: each mistake answered in
// one line that names the file, key or value and the fix, with the documented exit code (0 done,
// 1 a failure to fix, 2 a wrong command line).

import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { chmodSync, cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileErrorReason } from "../../src/config/config-files.ts";
import { builtStore, hasNix, STORE_NIX } from "../support/nix.ts";
import { runCli } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";

const MAIN = new URL("../../src/bin.js", import.meta.url).pathname;

describe("an older Node", () => {
  const tooOld = (node: string, preload: string[] = []) =>
    spawnSync(node, [...preload, MAIN, "--help"], { encoding: "utf8" });

  it("gets one line saying which Node is needed and how to get it, and exit code 1", () => {
    // Node 22 as this Node sees it: the check reads process.versions.node and nothing else.
    const result = tooOld(process.execPath, [
      "--import",
      'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"22.1.0"})',
    ]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^storefront: needs Node 24 or later, and \S+ is Node 22\.1\.0; start it with the Node that npm installed here: \S+node_modules\/\.bin\/node \S+src\/bin\.js/,
    );
  });

  // The system's own Node, where it is older (Debian's is 20): a real old Node, not a pretend one.
  const systemNode = spawnSync("sh", ["-c", "command -v node"], {
    encoding: "utf8",
    env: { PATH: "/usr/local/bin:/usr/bin:/bin" },
  }).stdout.trim();
  const systemMajor = Number(
    spawnSync(systemNode || "false", ["-p", "process.versions.node.split('.')[0]"], {
      encoding: "utf8",
    }).stdout,
  );
  it.skipIf(!(systemMajor > 0 && systemMajor < 24))(
    "the system's older Node gets the same line, not a SyntaxError",
    () => {
      const result = tooOld(systemNode);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/^storefront: needs Node 24 or later, and .* is Node \d+\./);
      expect(result.stderr).not.toContain("SyntaxError");
    },
  );

  it("a copy inside node_modules (npm install -g of a tarball) says why it cannot run", () => {
    const copy = join(tempDir("storefront-cli-"), "lib", "node_modules", "storefront");
    mkdirSync(copy, { recursive: true });
    cpSync(new URL("../../src", import.meta.url), join(copy, "src"), { recursive: true });
    const result = spawnSync(process.execPath, [join(copy, "src", "bin.js"), "--version"], {
      encoding: "utf8",
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `storefront: cannot run from ${copy}/: Node strips TypeScript types only outside node_modules; install a link to a checkout instead (npm link in it, or npm install -g /path/to/checkout), or see "On the PATH" in the README\n`,
    );
  });

  it("the README's wrapper puts a working storefront on the PATH, whatever node is there", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const line = readme.split("\n").find((l) => l.startsWith("printf '#!/bin/sh"));
    expect(line).toMatch(/\| sudo tee \/usr\/local\/bin\/storefront >\/dev\/null$/);
    // As written, run in the checkout, only into a directory of the test's own, without sudo.
    const bin = tempDir("storefront-cli-");
    const command = (line ?? "").replace(
      "| sudo tee /usr/local/bin/storefront",
      `| tee ${bin}/storefront`,
    );
    const checkout = new URL("../..", import.meta.url).pathname;
    expect(spawnSync("sh", ["-c", command], { cwd: checkout }).status).toBe(0);
    chmodSync(join(bin, "storefront"), 0o755);
    // A PATH whose node, if any, is the system's (Debian's is 20).
    const result = spawnSync("storefront", ["--version"], {
      cwd: bin,
      encoding: "utf8",
      env: { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin` },
    });
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^storefront \d/);
  });

  it("package.json declares the Node it needs", () => {
    const manifest = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { engines?: { node?: string } };
    expect(manifest.engines?.node).toBe(">=24");
  });
});

describe("exit codes", () => {
  it("2 for a command line that is wrong, saying what is wrong", async () => {
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^storefront: no command given\n\nUsage: storefront COMMAND/);

    const key = await runCli(["key"]);
    expect(key.code).toBe(2);
    expect(key.stderr).toMatch(/^storefront: key: expected a subcommand \("generate"\)\n/);
    const other = await runCli(["key", "make"]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/^storefront: key: unknown subcommand "make"; the only one/);
    const noName = await runCli(["key", "generate"]);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toMatch(/^storefront: key generate: expected the key's NAME/);
  });

  it("1 for a file that cannot be written, saying why in words", async () => {
    const dir = tempDir("storefront-cli-");
    writeFileSync(join(dir, "file"), "");
    const result = await runCli([
      "key",
      "generate",
      "k-1",
      "--secret",
      join(dir, "file", "keys", "secret"),
      "--public",
      join(dir, "public"),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `storefront: cannot create the directory ${join(dir, "file", "keys")} for ${join(dir, "file", "keys", "secret")}: a part of the path is not a directory\n`,
    );
  });
});

describe("key generate", () => {
  it("creates the secret's missing directory with mode 0700, as the README's command needs", async () => {
    const dir = join(tempDir("storefront-cli-"), "etc", "storefront");
    const result = await runCli([
      "key",
      "generate",
      "cache.example.org-1",
      "--secret",
      join(dir, "secret"),
      "--public",
      join(dir, "public"),
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`storefront: created ${dir} (mode 700)\n`);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "secret")).mode & 0o777).toBe(0o600);
    expect(result.stdout.trim()).toBe(readFileSync(join(dir, "public"), "utf8"));
  });

  it("writes nothing when the public file exists already", async () => {
    const dir = tempDir("storefront-cli-");
    writeFileSync(join(dir, "public"), "precious");
    const result = await runCli([
      "key",
      "generate",
      "k-1",
      "--secret",
      join(dir, "new", "secret"),
      "--public",
      join(dir, "public"),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${join(dir, "public")} exists already`);
    expect(() => statSync(join(dir, "new"))).toThrow();
  });
});

describe("help", () => {
  /** Where the descriptions start in each section of rows ("Options:", "Environment:", ...). */
  function descriptionColumns(help: string): number[][] {
    const sections: number[][] = [];
    let current: number[] | undefined;
    for (const line of help.split("\n")) {
      if (/^\S.*:$/.test(line)) {
        current = [];
        sections.push(current);
      } else if (line === "") {
        current = undefined;
      } else if (current !== undefined) {
        // A row: "  term  description"; a further line of a description: only spaces before it.
        const row = /^ {2}\S.*? {2,}(?=\S)/.exec(line);
        current.push(row === null ? (/^ */.exec(line)?.[0].length ?? 0) : row[0].length);
      }
    }
    return sections;
  }

  it.each([[], ["serve"], ["key"], ["pin"], ["unpin"], ["pins"], ["prune"]])(
    "storefront %s --help has its descriptions in one column",
    async (...command) => {
      const result = await runCli([...command, "--help"]);
      expect(result.code).toBe(0);
      const sections = descriptionColumns(result.stdout);
      expect(sections.length).toBeGreaterThan(0);
      for (const columns of sections) expect(new Set(columns).size, result.stdout).toBe(1);
    },
  );

  it("serve --help names --bind", async () => {
    expect((await runCli(["serve", "--help"])).stdout).toMatch(/^ {2}--bind ADDRESS +where/m);
  });
});

describe("config and key files", () => {
  it("a TOML syntax error names the line and column", async () => {
    const dir = tempDir("storefront-cli-");
    writeFileSync(join(dir, "c.toml"), `priority = 41\nbind = [::]:5000\n`);
    const result = await runCli(["serve", "--check-config", "--config", join(dir, "c.toml")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `storefront: ${join(dir, "c.toml")}:2:9: not valid TOML: invalid value\n`,
    );
  });

  it("a missing key file is said in words", async () => {
    const dir = tempDir("storefront-cli-");
    const result = await runCli(["serve", "--sign-key-path", join(dir, "secret")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `storefront: ${join(dir, "secret")}: cannot read the secret key file: there is no such file or directory\n`,
    );
  });

  it("an unreadable file is said in words, with the user and the fix", () => {
    // Root reads any file, so the errno itself stands in for one it may not read.
    const denied = Object.assign(new Error("EACCES"), { code: "EACCES" });
    expect(fileErrorReason(denied)).toMatch(
      /^permission denied to user \S+; run as a user with access to it, or change its owner or mode/,
    );
    expect(fileErrorReason(Object.assign(new Error("EISDIR"), { code: "EISDIR" }))).toBe(
      "it is a directory, not a file",
    );
  });
});

describe("pins", () => {
  it("says so when there are none", async () => {
    const dir = tempDir("storefront-cli-");
    const roots = join(dir, "gcroots");
    writeFileSync(join(dir, "c.toml"), `[gcroots]\ndir = "${roots}"\n`);
    const result = await runCli(["pins", "--config", join(dir, "c.toml")]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`no pins in ${roots}\n`);
  });
});

describe("--bind", () => {
  it("wins over the config file, and a bad value names the flag", async () => {
    const dir = tempDir("storefront-cli-");
    writeFileSync(join(dir, "c.toml"), `bind = "127.0.0.1:5000"\n`);
    const result = await runCli(["serve", "--config", join(dir, "c.toml"), "--bind", "nowhere"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `storefront: --bind "nowhere": expected host:port, [v6-address]:port or unix:/path\n`,
    );
  });

  it("a [metrics] bind equal to bind is refused at once", async () => {
    const dir = tempDir("storefront-cli-");
    writeFileSync(join(dir, "c.toml"), `bind = "[::]:5000"\n[metrics]\nbind = "127.0.0.1:5000"\n`);
    const result = await runCli(["serve", "--check-config", "--config", join(dir, "c.toml")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `storefront: ${join(dir, "c.toml")}: "metrics.bind" 127.0.0.1:5000 is where "bind" listens already; give /metrics an address of its own, or remove "metrics.bind" to serve it on "bind"\n`,
    );
  });
});

describe.skipIf(!hasNix)("listen addresses, with a store", () => {
  const built = builtStore(STORE_NIX, ["topFile"]);
  const config = (): string => {
    const dir = tempDir("storefront-cli-");
    writeFileSync(join(dir, "c.toml"), `real_nix_store = "${built.store.realStoreDir}"\n`);
    return join(dir, "c.toml");
  };

  it("--check-config shows the address of --bind over the file's", async () => {
    const result = await runCli([
      "serve",
      "--check-config",
      "--config",
      config(),
      "--bind",
      "127.0.0.1:5999",
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ {2}bind +127\.0\.0\.1:5999$/m);
  });

  const missingDirectory = `/nonexistent-${String(process.pid)}`;
  it.each([
    [
      "999.1.1.1:5000",
      `cannot listen on 999.1.1.1:5000 ("bind"): the host is neither an IP address nor a name that resolves; use an IP address such as [::]:5000 or 127.0.0.1:5000 with --bind or "bind" in the config`,
    ],
    [
      "192.0.2.7:5000",
      `cannot listen on 192.0.2.7:5000 ("bind"): that address is not one of this machine's; use one of its addresses (ip address), or [::] for all of them, with --bind or "bind" in the config`,
    ],
    [
      `unix:${missingDirectory}/sock`,
      `cannot listen on unix:${missingDirectory}/sock ("bind"): the directory ${missingDirectory} does not exist; create it (mkdir -p ${missingDirectory}) or choose another path with --bind or "bind" in the config`,
    ],
  ])("%s: serve and --check-config both say what is wrong in one line", async (bind, message) => {
    const file = config();
    const serve = await runCli(["serve", "--config", file, "--bind", bind]);
    expect(serve.code).toBe(1);
    expect(serve.stderr).toBe(`storefront: ${message}\n`);
    const check = await runCli(["serve", "--check-config", "--config", file, "--bind", bind]);
    expect(check.code).toBe(1);
    expect(check.stdout).toBe("");
    expect(check.stderr).toBe(`storefront: ${message}\n`);
  });

  it("a port in use names bind and --bind", async () => {
    const blocker = createServer();
    blocker.listen(0, "127.0.0.1");
    await once(blocker, "listening");
    const { port } = blocker.address() as AddressInfo;
    try {
      const result = await runCli(["serve", "--config", config(), "--bind", `127.0.0.1:${port}`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `storefront: cannot listen on 127.0.0.1:${port} ("bind"): the address is in use (is another server, harmonia or nix-serve, running?); stop it, or choose another address with --bind or "bind" in the config\n`,
      );
    } finally {
      blocker.close();
    }
  });

  it("a pin that cannot be written exits 1, saying why in words", async () => {
    const dir = tempDir("storefront-cli-");
    writeFileSync(join(dir, "file"), "");
    writeFileSync(
      join(dir, "c.toml"),
      `real_nix_store = "${built.store.realStoreDir}"\n[gcroots]\ndir = "${dir}/file/roots"\n`,
    );
    const path = built.paths.get("topFile") ?? "";
    const result = await runCli(["pin", "web", path, "--config", join(dir, "c.toml")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `storefront: cannot create the GC roots directory ${dir}/file/roots: a part of the path is not a directory\n`,
    );
  });

  it("a [metrics] bind in a missing directory names metrics.bind", async () => {
    const dir = tempDir("storefront-cli-");
    mkdirSync(join(dir, "run"));
    writeFileSync(
      join(dir, "c.toml"),
      `real_nix_store = "${built.store.realStoreDir}"\nbind = "unix:${dir}/run/sock"\n[metrics]\nbind = "unix:${dir}/gone/sock"\n`,
    );
    const result = await runCli(["serve", "--check-config", "--config", join(dir, "c.toml")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`("metrics.bind"): the directory ${dir}/gone does not exist`);
  });
});
