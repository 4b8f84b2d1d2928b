// A real Nix for tests: throw-away stores built with `nix-build --store`, and the client
// commands run against them. Without Nix these tests skip, saying so; with CI=true they must
// run, so a CI machine without Nix fails here rather than passing on nothing.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

function findNix(): boolean {
  return spawnSync("nix-build", ["--version"], { stdio: "ignore" }).status === 0;
}

export const hasNix = findNix();

if (!hasNix && process.env["CI"] === "true") {
  throw new Error("CI=true but nix-build is not on PATH: install Debian's nix-bin (see .ci/run)");
}
if (!hasNix) {
  process.stderr.write("note: nix-build not found; tests that need a real Nix are skipped\n");
}

/** The fixtures' directory, and store.nix: paths with every kind of entry, and a closure. */
export const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
export const STORE_NIX = join(FIXTURES, "store.nix");

/** Host paths a chroot store's sandbox needs for /bin/sh builders. */
const SANDBOX_PATHS = "/bin /usr /lib /lib64 /dev/urandom";

const STORE_DIR = "/nix/store/";

/** `<hash>-<name>` of a store path. */
export function baseNameOf(storePath: string): string {
  return storePath.slice(STORE_DIR.length);
}

/** The 32-character hash of a store path, as narinfo URLs name it. */
export function hashOf(storePath: string): string {
  return baseNameOf(storePath).slice(0, 32);
}

export interface TestStore {
  /** The store's root, e.g. /tmp/storefront-xyz; files are under <root>/nix/store. */
  readonly root: string;
  readonly realStoreDir: string;
  readonly dbPath: string;
  /** The config line that serves this store: `real_nix_store = "..."` and a newline. */
  readonly configLine: string;
  /** The real (on-disk) path of a logical store path. */
  realPath(storePath: string): string;
  remove(): void;
}

export function makeTestStore(prefix = "storefront-store-"): TestStore {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const realStoreDir = join(root, "nix/store");
  return {
    root,
    realStoreDir,
    dbPath: join(root, "nix/var/nix/db/db.sqlite"),
    configLine: `real_nix_store = ${JSON.stringify(realStoreDir)}\n`,
    realPath: (storePath) => join(realStoreDir, baseNameOf(storePath)),
    remove: () => {
      // Nix makes store paths read-only; make them writable so that they can be removed.
      spawnSync("chmod", ["-R", "u+w", root]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * Builds `attributes` of `file` into `store`; returns attribute → out path. With no attributes,
 * `file` is one derivation and its path is under the key "". `extraArgs` go to nix-build as they
 * are, e.g. `--extra-experimental-features ca-derivations`.
 */
export function nixBuild(
  store: TestStore,
  file: string,
  attributes: readonly string[],
  extraArgs: readonly string[] = [],
): Map<string, string> {
  const args = [
    ...extraArgs,
    "--store",
    store.root,
    "--option",
    "extra-sandbox-paths",
    SANDBOX_PATHS,
    "--no-out-link",
    file,
  ];
  for (const attribute of attributes) args.push("-A", attribute);
  // Builds write their progress to stderr; keep it for the error message should one fail.
  const output = execFileSync("nix-build", args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const paths = output.trim().split("\n");
  if (attributes.length === 0) return new Map([["", paths[0] ?? ""]]);
  return new Map(attributes.map((attribute, i) => [attribute, paths[i] ?? ""]));
}

/** `nix` with the experimental command enabled and a cache directory of the test's own. */
export function nixCommand(
  args: readonly string[],
  cacheHome: string,
): { status: number; output: string } {
  const result = spawnSync("nix", ["--extra-experimental-features", "nix-command", ...args], {
    encoding: "utf8",
    env: { ...process.env, XDG_CACHE_HOME: cacheHome },
  });
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

/**
 * `nix copy` of `storePaths` from the store at `sourceRoot` to `url` (a storefront with push on,
 * its store URL parameters included), logging in with the credentials in `netrc`, as CI does.
 */
export function nixCopyTo(
  sourceRoot: string,
  url: string,
  netrc: string,
  storePaths: readonly string[],
  cacheHome: string,
  extra: readonly string[] = [],
): { status: number; output: string } {
  return nixCommand(
    [
      "--store",
      sourceRoot,
      "copy",
      "--to",
      url,
      "--option",
      "netrc-file",
      netrc,
      ...extra,
      ...storePaths,
    ],
    cacheHome,
  );
}

export interface BuiltStore {
  readonly store: TestStore;
  /** Attribute → out path. */
  readonly paths: ReadonlyMap<string, string>;
}

/**
 * For a describe block: a new store with `attributes` of `file` built before its tests and
 * removed after them. Read the fields inside tests and hooks, once the store is built.
 */
export function builtStore(file: string, attributes: readonly string[]): BuiltStore {
  let built: { store: TestStore; paths: Map<string, string> } | undefined;
  beforeAll(() => {
    const store = makeTestStore();
    built = { store, paths: nixBuild(store, file, attributes) };
  });
  afterAll(() => {
    built?.store.remove();
  });
  const get = (): { store: TestStore; paths: Map<string, string> } => {
    if (built === undefined) throw new Error("the test store is built before the tests");
    return built;
  };
  return {
    get store() {
      return get().store;
    },
    get paths() {
      return get().paths;
    },
  };
}
