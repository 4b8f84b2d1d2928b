// The README's systemd units for Debian and other systemd distributions, as a user copies them:
// `systemd-analyze verify` accepts them, and their commands, run as systemd would run them (the
// "+" ExecStartPre lines as root, the rest as an unprivileged user, the key handed over as a
// credential), serve signed narinfos from a store Nix has closed and let that user pin.

import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { get } from "../support/http.ts";
import {
  builtStore,
  hashOf,
  hasNix,
  makeTestStore,
  STORE_NIX,
  type TestStore,
} from "../support/nix.ts";
import { canRunAsOtherUser, installForOtherUsers, type Installed } from "../support/other-user.ts";
import { generateKey, startServer } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";

const README = new URL("../../README.md", import.meta.url).pathname;

const has = (command: string, args: string[]): boolean =>
  spawnSync(command, args, { stdio: "ignore" }).status === 0;
const hasSystemdAnalyze = has("systemd-analyze", ["--version"]);
const canActAsService =
  canRunAsOtherUser && has("setpriv", ["--version"]) && has("sqlite3", ["--version"]);

/** The ```ini block that follows the line naming `file` in the README. */
function readmeUnit(file: string): string {
  const readme = readFileSync(README, "utf8");
  const at = readme.indexOf(`\`${file}\`:\n\n\`\`\`ini\n`);
  if (at < 0) throw new Error(`the README has no unit ${file}`);
  const start = readme.indexOf("```ini\n", at) + "```ini\n".length;
  return readme.slice(start, readme.indexOf("```\n", start));
}

/** The values of `key=` in a unit's text, in order. */
function unitValues(unit: string, key: string): string[] {
  return unit
    .split("\n")
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

/** The unit with the README's places replaced by the test's, longest first. */
function placed(unit: string, places: Record<string, string>): string {
  let text = unit;
  for (const [from, to] of Object.entries(places).sort((a, b) => b[0].length - a[0].length)) {
    text = text.replaceAll(from, to);
  }
  return text;
}

describe.skipIf(!hasNix)("the README's systemd units", () => {
  let installed: Installed;

  beforeAll(() => {
    installed = installForOtherUsers(tempDir("storefront-unit-install-"));
  });

  it.skipIf(!hasSystemdAnalyze)("pass systemd-analyze verify", () => {
    const dir = tempDir("storefront-unit-");
    // Only the place of the installation differs: verify checks that the programs exist.
    for (const file of ["storefront.socket", "storefront.service"]) {
      const unit = readmeUnit(`/etc/systemd/system/${file}`);
      writeFileSync(join(dir, file), placed(unit, { "/opt/storefront": installed.root }));
    }
    const result = spawnSync(
      "systemd-analyze",
      ["verify", join(dir, "storefront.socket"), join(dir, "storefront.service")],
      { encoding: "utf8" },
    );
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  describe.skipIf(!canActAsService)("run as systemd runs them, by an unprivileged user", () => {
    const built = builtStore(STORE_NIX, ["topFile"]);

    it("the service starts, reads the store, signs with the root-only key and pins", async () => {
      const root = built.store.root;
      chmodSync(root, 0o755);
      // nix-build closed the database: its -wal and -shm files are gone, as on a real machine.
      expect(existsSync(`${built.store.dbPath}-wal`)).toBe(false);
      const etc = tempDir("storefront-unit-etc-");
      chmodSync(etc, 0o755);
      const key = await generateKey(etc, "unit-test-1");
      chmodSync(key.secret, 0o600);
      writeFileSync(
        join(etc, "storefront.toml"),
        `bind = "127.0.0.1:0"\n${built.store.configLine}`,
        { mode: 0o644 },
      );
      const service = placed(readmeUnit("/etc/systemd/system/storefront.service"), {
        "/opt/storefront": installed.root,
        "/etc/storefront/storefront.toml": join(etc, "storefront.toml"),
        "/etc/storefront/secret": key.secret,
        "/nix/var/nix": join(root, "nix/var/nix"),
        "-o storefront -g storefront": "-o nobody -g nogroup",
      });
      expect(unitValues(service, "User")).toEqual(["storefront"]);

      // ExecStartPre=+...: as root. Their arguments are quoted as a shell quotes them.
      const pre = unitValues(service, "ExecStartPre");
      expect(pre.length).toBeGreaterThan(0);
      for (const command of pre) {
        expect(command.startsWith("+")).toBe(true);
        expect(command).not.toMatch(/[$\\%`]/);
        execFileSync("sh", ["-c", command.slice(1)], { stdio: ["ignore", "ignore", "pipe"] });
      }
      const rootsDir = join(root, "nix/var/nix/gcroots/storefront");
      expect(statSync(rootsDir).uid).toBe(uidOf("nobody"));

      // LoadCredential=ID:PATH: a copy readable by the service's user only, in $CREDENTIALS_DIRECTORY.
      const credentials = tempDir("storefront-unit-credentials-");
      for (const credential of unitValues(service, "LoadCredential")) {
        const [id = "", path = ""] = credential.split(/:(.*)/);
        copyFileSync(path, join(credentials, id));
        chownSync(join(credentials, id), uidOf("nobody"), gidOf("nobody"));
        chmodSync(join(credentials, id), 0o400);
      }
      chownSync(credentials, uidOf("nobody"), gidOf("nobody"));
      chmodSync(credentials, 0o500);
      const cacheDirectory = tempDir("storefront-unit-cache-");
      chownSync(cacheDirectory, uidOf("nobody"), gidOf("nobody"));
      // StateDirectory=, as systemd makes it: the service user's, named by $STATE_DIRECTORY.
      expect(unitValues(service, "StateDirectory")).toEqual(["storefront"]);
      const stateDirectory = tempDir("storefront-unit-state-");
      chownSync(stateDirectory, uidOf("nobody"), gidOf("nobody"));
      const env: NodeJS.ProcessEnv = {
        PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        CACHE_DIRECTORY: cacheDirectory,
        STATE_DIRECTORY: stateDirectory,
        CREDENTIALS_DIRECTORY: credentials,
      };
      for (const assignment of unitValues(service, "Environment")) {
        const [name = "", value = ""] = assignment.split(/=(.*)/);
        env[name] = value.replaceAll("%d", credentials);
      }
      expect(env["SIGN_KEY_PATHS"]).toBe(join(credentials, "sign-key"));

      const [execStart = ""] = unitValues(service, "ExecStart");
      const asService = ["--reuid=nobody", "--regid=nogroup", "--init-groups", "--"];
      // The unit's own command line and environment; CACHE_DIRECTORY is the one in `env`.
      const server = await startServer(cacheDirectory, "", {
        command: ["setpriv", ...asService, ...execStart.split(" ")],
        env,
        inheritEnv: false,
      });
      try {
        const port = server.port;
        const path = built.paths.get("topFile") ?? "";
        const narinfo = await get(`http://127.0.0.1:${port}`, `/${hashOf(path)}.narinfo`);
        expect(narinfo.status).toBe(200);
        expect(narinfo.body.toString()).toMatch(/^Sig: unit-test-1:/m);
        expect(server.stderr()).not.toContain("warn");
      } finally {
        await server.stop();
      }

      // The service's user pins, with the service's config, where the daemon looks.
      const path = built.paths.get("topFile") ?? "";
      const pin = spawnSync(
        "setpriv",
        [
          ...asService,
          ...execStart.split(" ").slice(0, 1),
          installed.main,
          "pin",
          "site",
          path,
        ].concat(["--config", join(etc, "storefront.toml")]),
        { env, encoding: "utf8" },
      );
      expect(pin.stderr).toBe("");
      expect(pin.status).toBe(0);
      expect(readdirSync(join(rootsDir, "site")).length).toBeGreaterThan(0);
    });

    /** `serve --check-config` as nobody on a new, empty store, after `prepare(store)`. */
    const checkAsNobody = (prepare: (store: TestStore) => void): SpawnSyncReturns<string> => {
      const store = makeTestStore();
      try {
        execFileSync("nix-store", ["--store", store.root, "--init"]);
        spawnSync("chmod", ["-R", "a+rX", store.root]);
        prepare(store);
        const config = join(tempDir("storefront-unit-db-"), "storefront.toml");
        chmodSync(join(config, ".."), 0o755);
        writeFileSync(config, store.configLine, { mode: 0o644 });
        const asNobody = ["--reuid=nobody", "--regid=nogroup", "--init-groups", "--"];
        const check = ["serve", "--check-config", "--config", config];
        return spawnSync("setpriv", [...asNobody, installed.node, installed.main, ...check], {
          encoding: "utf8",
        });
      } finally {
        store.remove();
      }
    };

    it("without the WAL step, a database the user cannot open says why and what to run", () => {
      let dbPath = "";
      const result = checkAsNobody((store) => {
        dbPath = store.dbPath;
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toBe(
        `storefront: cannot open Nix database ${dbPath} read-only as user nobody: it is in WAL mode, its -wal and -shm files are missing (Nix removes them when it closes the database) and user nobody cannot create them in ${join(dbPath, "..")}; run as root before each start: sqlite3 ${dbPath} '.output /dev/null' '.filectrl persist_wal 1' 'SELECT 1 FROM ValidPaths LIMIT 1' (the README's systemd unit and the NixOS module do)\n`,
      );
    });

    it("a database the user cannot read says which user needs access to what", () => {
      let dbPath = "";
      const result = checkAsNobody((store) => {
        dbPath = store.dbPath;
        execFileSync("sqlite3", [dbPath, ".filectrl persist_wal 1", "SELECT 1 FROM ValidPaths"]);
        chmodSync(dbPath, 0o600);
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toBe(
        `storefront: cannot open Nix database ${dbPath} read-only as user nobody (Error: unable to open database file): user nobody needs read access to it and to its -wal and -shm files, and to every directory above it\n`,
      );
    });
  });
});

function uidOf(user: string): number {
  return Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
}

function gidOf(user: string): number {
  return Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
}
