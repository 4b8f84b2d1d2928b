// `[exposure] only_closures_of`: a store with a pinned closure, a profile with two generations
// and a secret that nothing served refers to. The secret must be, on every route and method,
// exactly what a path that does not exist is; the served closures copy with signatures checked;
// the set follows pins and profiles without a restart. With the list empty, everything serves.

import { execFileSync } from "node:child_process";
import { readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, type RawResponse } from "../support/http.ts";
import { parseMetrics } from "../support/metrics.ts";
import {
  baseNameOf,
  hashOf,
  hasNix,
  makeTestStore,
  nixBuild,
  nixCommand,
  type TestStore,
} from "../support/nix.ts";
import { generateKey, runCli, startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor } from "../support/wait.ts";

const FIXTURE = new URL("../fixtures/exposure.nix", import.meta.url).pathname;
const ATTRIBUTES = [
  "pinned",
  "pinnedDep",
  "shared",
  "generation1",
  "generation2",
  "later",
  "secret",
];
/** A hash no path has, to compare a hidden path's answers with. */
const MISSING_HASH = "0".repeat(32);

function nixStore(store: TestStore, args: readonly string[]): string {
  return execFileSync("nix-store", ["--store", store.root, ...args], { encoding: "utf8" }).trim();
}

/** Every request a client can make of a path, as [label, URL, request options]. */
function requestsFor(
  hash: string,
  baseName: string,
  narHash: string,
  drvBaseName: string,
): [string, string, { method?: string; headers?: Record<string, string> }][] {
  const urls: [string, string][] = [
    ["narinfo", `/${hash}.narinfo`],
    ["nar ?hash=", `/nar/${narHash}.nar?hash=${hash}`],
    ["nar hash-narhash", `/nar/${hash}-${narHash}.nar`],
    ["nar hash", `/nar/${hash}.nar`],
    ["listing", `/${hash}.ls`],
    ["tar", `/${hash}.tar`],
    ["serve", `/serve/${baseName}/secret`],
    ["serve top", `/serve/${baseName}/`],
    ["log", `/log/${drvBaseName}`],
  ];
  return urls.flatMap(([label, url]) => [
    [`GET ${label}`, url, {}],
    [`HEAD ${label}`, url, { method: "HEAD" }],
    [`Range ${label}`, url, { headers: { range: "bytes=0-9" } }],
    [`If-None-Match ${label}`, url, { headers: { "if-none-match": '"x"' } }],
    [`zstd ${label}`, url, { headers: { "accept-encoding": "zstd" } }],
  ]);
}

/** What a client sees of a response, all but its date. */
function seen(response: RawResponse): unknown {
  const headers = { ...response.headers };
  delete headers["date"];
  return { status: response.status, headers, body: response.body.toString("latin1") };
}

describe.skipIf(!hasNix)("[exposure] only_closures_of", () => {
  let store: TestStore;
  let paths: Map<string, string>;
  let work: string;
  let publicKey: string;
  let secretKey: string;
  let gcroots: string;
  let profiles: string;
  let configPath: string;
  let server: RunningServer;

  const path = (attribute: string): string => paths.get(attribute) ?? "";
  const cli = (args: readonly string[]): ReturnType<typeof runCli> =>
    runCli([...args, "--config", configPath]);
  const narinfoStatus = async (attribute: string): Promise<number> =>
    (await get(server.url, `/${hashOf(path(attribute))}.narinfo`)).status;
  /** Points the profile at `attribute` as nix-env does: a new generation link, then a rename. */
  const switchProfile = (generation: number, attribute: string): void => {
    symlinkSync(path(attribute), join(profiles, `project-${generation}-link`));
    symlinkSync(`project-${generation}-link`, join(profiles, "project.tmp"));
    renameSync(join(profiles, "project.tmp"), join(profiles, "project"));
  };
  const copy = (server: RunningServer, storePaths: string[]): ReturnType<typeof nixCommand> => {
    const destination = tempDir("storefront-exposure-copy-");
    return nixCommand(
      [
        "copy",
        "--from",
        server.url,
        "--to",
        destination,
        "--option",
        "trusted-public-keys",
        publicKey,
        ...storePaths,
      ],
      join(destination, "cache"),
    );
  };
  const config = (exposure: string): string =>
    `bind = "127.0.0.1:0"\nworkers = 1\n${store.configLine}sign_key_paths = ["${secretKey}"]\n` +
    `[gcroots]\ndir = "${gcroots}"\n[exposure]\n${exposure}\n`;

  beforeAll(async () => {
    store = makeTestStore();
    paths = nixBuild(store, FIXTURE, ATTRIBUTES);
    work = tempDir("storefront-exposure-");
    const key = await generateKey(work, "exposure-test-1");
    publicKey = readFileSync(key.public, "utf8").trim();
    secretKey = key.secret;
    gcroots = join(work, "gcroots");
    profiles = join(work, "profiles");
    execFileSync("mkdir", ["-p", profiles]);
    switchProfile(1, "generation1");
    configPath = join(work, "storefront.toml");
    writeFileSync(
      configPath,
      config(`only_closures_of = ["pins", "${join(profiles, "project")}"]`),
    );
    const pinned = await cli(["pin", "app", path("pinned")]);
    expect(pinned.code, pinned.stderr).toBe(0);
    server = await startServer(work, readFileSync(configPath, "utf8"));
  });
  afterAll(async () => {
    await server.stop();
    store.remove();
  });

  it("serves the closures of the pins and the profile, and nothing else", async () => {
    for (const attribute of ["pinned", "pinnedDep", "generation1", "shared"]) {
      expect(await narinfoStatus(attribute), attribute).toBe(200);
    }
    for (const attribute of ["secret", "generation2", "later"]) {
      expect(await narinfoStatus(attribute), attribute).toBe(404);
    }
  });

  it("answers for the secret exactly as for a path that does not exist, on every route", async () => {
    const secret = path("secret");
    const narHash = nixStore(store, ["-q", "--hash", secret]).replace(/^sha256:/, "");
    const drv = baseNameOf(nixStore(store, ["-q", "--deriver", secret]));
    const name = baseNameOf(secret).slice(33);
    const hidden = requestsFor(hashOf(secret), baseNameOf(secret), narHash, drv);
    const missing = requestsFor(
      MISSING_HASH,
      `${MISSING_HASH}-${name}`,
      narHash,
      `${MISSING_HASH}-${drv.slice(33)}`,
    );
    for (const [i, [label, url, options]] of hidden.entries()) {
      const [, missingUrl, missingOptions] = missing[i] ?? ["", "", {}];
      const answer = seen(await get(server.url, url, options));
      expect(answer, label).toEqual(seen(await get(server.url, missingUrl, missingOptions)));
      expect(answer, label).toMatchObject({ status: 404 });
    }
  });

  it("lets a real Nix copy the served closures with signatures checked, and not the secret", () => {
    const served = copy(server, [path("pinned"), path("generation1")]);
    expect(served.status, served.output).toBe(0);
    const secret = copy(server, [path("secret")]);
    expect(secret.status, secret.output).not.toBe(0);
  });

  it("says on /metrics how much it serves, and on / which roots", async () => {
    const metrics = parseMetrics((await get(server.url, "/metrics")).body.toString());
    // pinned, pinnedDep, generation1, shared.
    expect(metrics.get("storefront_served_paths")).toBe(4);
    expect(metrics.get("storefront_served_nar_bytes")).toBeGreaterThan(0);
    const page = (await get(server.url, "/")).body.toString();
    expect(page).toContain("only the closures of <code>pins</code>");
    expect(page).toContain(join(profiles, "project"));
  });

  it("--check-config says what it serves", async () => {
    const result = await runCli(["serve", "--check-config", "--config", configPath]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/serves +the closures of pins, .*project: \d+ paths/);
  });

  it("follows a profile switch, an unpin, a pin and a root removed, without a restart", async () => {
    const becomes = async (attribute: string, status: number): Promise<void> => {
      await waitFor(
        async () => (await narinfoStatus(attribute)) === status,
        `${attribute} answering ${status}`,
        10_000,
      );
    };
    switchProfile(2, "generation2");
    await becomes("generation2", 200);
    await becomes("generation1", 404);
    expect(await narinfoStatus("shared")).toBe(200);

    expect((await cli(["unpin", "app"])).code).toBe(0);
    await becomes("pinned", 404);
    await becomes("pinnedDep", 404);

    expect((await cli(["pin", "later", path("later")])).code).toBe(0);
    await becomes("later", 200);

    rmSync(join(profiles, "project"));
    await becomes("generation2", 404);
    await waitFor(
      () => server.stderr().includes("a root of exposure.only_closures_of is gone"),
      "the warning about the root gone",
      10_000,
    );
    expect(await narinfoStatus("shared")).toBe(404);
    expect(await narinfoStatus("later")).toBe(200);
    expect(await narinfoStatus("secret")).toBe(404);
  });

  it("with include_derivers, serves the derivations of the served paths as well", async () => {
    const drv = nixStore(store, ["-q", "--deriver", path("later")]);
    const secretDrv = nixStore(store, ["-q", "--deriver", path("secret")]);
    const dir = tempDir("storefront-exposure-derivers-");
    const withDerivers = await startServer(
      dir,
      config(`only_closures_of = ["${path("later")}"]\ninclude_derivers = true`),
    );
    try {
      expect((await get(withDerivers.url, `/${hashOf(drv)}.narinfo`)).status).toBe(200);
      expect((await get(withDerivers.url, `/${hashOf(secretDrv)}.narinfo`)).status).toBe(404);
    } finally {
      await withDerivers.stop();
    }
    expect((await get(server.url, `/${hashOf(drv)}.narinfo`)).status).toBe(404);
  });

  it("names on /status no pin whose path it does not serve", async () => {
    expect((await cli(["pin", "hidden-pin", path("secret")])).code).toBe(0);
    expect((await cli(["pin", "shown-pin", path("pinned")])).code).toBe(0);
    const dir = tempDir("storefront-exposure-status-");
    const narrow = await startServer(dir, config(`only_closures_of = ["${path("pinned")}"]`));
    try {
      const status = await get(narrow.url, "/status.json");
      expect(status.status).toBe(200);
      const body = status.body.toString("utf8");
      expect(body).toContain("shown-pin");
      expect(body).not.toContain("hidden-pin");
      expect(body).not.toContain(baseNameOf(path("secret")));
    } finally {
      await narrow.stop();
      for (const name of ["hidden-pin", "shown-pin"]) {
        expect((await cli(["unpin", name])).code).toBe(0);
      }
    }
  });

  it("with only_closures_of empty, serves the whole store, the secret and its log included", async () => {
    const dir = tempDir("storefront-exposure-all-");
    const everything = await startServer(dir, config("only_closures_of = []"));
    try {
      const secret = path("secret");
      expect((await get(everything.url, `/${hashOf(secret)}.narinfo`)).status).toBe(200);
      const drv = baseNameOf(nixStore(store, ["-q", "--deriver", secret]));
      expect((await get(everything.url, `/log/${drv}`)).status).toBe(200);
      expect((await get(everything.url, `/${hashOf(secret)}.ls`)).status).toBe(200);
      const metrics = (await get(everything.url, "/metrics")).body.toString();
      expect(metrics).not.toContain("storefront_served_paths");
      const copied = copy(everything, [secret, path("generation1")]);
      expect(copied.status, copied.output).toBe(0);
    } finally {
      await everything.stop();
    }
  });

  it.each([
    ["a relative path", () => "relative/root", 'is not "pins" or an absolute path'],
    ["a path that does not exist", () => join(work, "nowhere"), "does not exist"],
    ["a regular file", () => configPath, "is not a GC root"],
    ["a store path that is not valid", () => `/nix/store/${MISSING_HASH}-gone`, "does not exist"],
  ])("refuses %s as an entry, naming it, in serve and --check-config", async (_, entry, why) => {
    const dir = tempDir("storefront-exposure-bad-");
    const bad = join(dir, "bad.toml");
    writeFileSync(bad, config(`only_closures_of = ["pins", "${entry()}"]`));
    for (const args of [["serve", "--check-config"], ["serve"]]) {
      const result = await runCli([...args, "--config", bad]);
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr).toContain(`"exposure.only_closures_of": entry "${entry()}"`);
      expect(result.stderr).toContain(why);
    }
  });
});

describe.skipIf(!hasNix)("[exposure] and realisations", () => {
  const CA_FIXTURE = new URL("../fixtures/ca.nix", import.meta.url).pathname;
  let store: TestStore;
  let server: RunningServer;
  let realisations: Map<string, string>;

  beforeAll(async () => {
    store = makeTestStore();
    const built = nixBuild(
      store,
      CA_FIXTURE,
      ["base", "top"],
      ["--extra-experimental-features", "ca-derivations", "--option", "substituters", ""],
    );
    const database = new DatabaseSync(store.dbPath, { readOnly: true });
    const rows = database
      .prepare(
        "SELECT r.drvPath AS drvPath, r.outputName AS outputName, v.path AS path FROM Realisations r JOIN ValidPaths v ON v.id = r.outputPath",
      )
      .all() as { drvPath: string; outputName: string; path: string }[];
    database.close();
    realisations = new Map(
      [...built].map(([attribute, path]) => {
        const row = rows.find((candidate) => candidate.path === path);
        return [attribute, row === undefined ? "" : `${row.drvPath}!${row.outputName}`];
      }),
    );
    server = await startServer(
      tempDir("storefront-exposure-ca-"),
      `bind = "127.0.0.1:0"\nworkers = 1\n${store.configLine}[exposure]\nonly_closures_of = ["${built.get("base") ?? ""}"]\n`,
    );
  });
  afterAll(async () => {
    await (server as RunningServer | undefined)?.stop();
    (store as TestStore | undefined)?.remove();
  });

  it("serves the realisation of a served output, and answers for another as for none", async () => {
    const url = (id: string): string => `/realisations/${id}.doi`;
    expect((await get(server.url, url(realisations.get("base") ?? ""))).status).toBe(200);
    const top = realisations.get("top") ?? "";
    const missing = `sha256:${"0".repeat(64)}!out`;
    for (const method of ["GET", "HEAD"]) {
      const hidden = seen(await get(server.url, url(top), { method }));
      expect(hidden).toEqual(seen(await get(server.url, url(missing), { method })));
      expect(hidden).toMatchObject({ status: 404 });
    }
  });
});

describe.skipIf(!hasNix)("[exposure] with pushed closures pinned, in a cluster", () => {
  let source: TestStore;
  let served: TestStore;
  let server: RunningServer;
  let paths: Map<string, string>;
  const status = async (attribute: string): Promise<number> =>
    (await get(server.url, `/${hashOf(paths.get(attribute) ?? "")}.narinfo`)).status;

  beforeAll(async () => {
    source = makeTestStore("storefront-exposure-source-");
    served = makeTestStore("storefront-exposure-served-");
    paths = new Map([
      ...nixBuild(source, FIXTURE, ["pinned", "pinnedDep"]),
      ...nixBuild(served, FIXTURE, ["secret"]),
    ]);
    server = await startServer(
      tempDir("storefront-exposure-push-"),
      `bind = "127.0.0.1:0"\nworkers = 2\n${served.configLine}` +
        `[gcroots]\npin_new_paths = true\n[exposure]\nonly_closures_of = ["pins"]\n`,
    );
  });
  afterAll(async () => {
    await (server as RunningServer | undefined)?.stop();
    (source as TestStore | undefined)?.remove();
    (served as TestStore | undefined)?.remove();
  });

  it("serves a pushed closure once it is pinned, and still not the rest", async () => {
    expect(await status("secret")).toBe(404);
    expect(await status("pinned")).toBe(404);
    const pushed = nixCommand(
      [
        "copy",
        "--from",
        source.root,
        "--to",
        served.root,
        "--no-check-sigs",
        paths.get("pinned") ?? "",
      ],
      tempDir("storefront-exposure-push-cache-"),
    );
    expect(pushed.status, pushed.output).toBe(0);
    // Every worker holds the set: each request may reach either.
    await waitFor(
      async () =>
        (await Promise.all([1, 2, 3, 4].map(() => status("pinned")))).every((s) => s === 200),
      "the pushed closure served",
      10_000,
    );
    expect(await status("pinnedDep")).toBe(200);
    expect(await status("secret")).toBe(404);
    const metrics = parseMetrics((await get(server.url, "/metrics")).body.toString());
    expect(metrics.get("storefront_served_paths")).toBe(2);
  });
});
