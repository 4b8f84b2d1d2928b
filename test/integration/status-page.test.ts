// /status and /status.json on a store that a real Nix built, served by the real CLI: the store's
// figures as Nix's database and `nix-store` give them, a pin and its closure, the largest
// closures, the empty history of a storefront without a state database; a private cache's
// rules; `[status] enable = false`; and the page in a real headless browser, whose chart has
// one point per sample of a known history.

import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assembleStatus, type StatusData } from "../../src/status/status-data.ts";
import { renderStatusPage } from "../../src/status/status-page.ts";
import { get } from "../support/http.ts";
import { hasNix, makeTestStore, nixBuild, STORE_NIX, type TestStore } from "../support/nix.ts";
import { runCli, startServer, type RunningServer } from "../support/server.ts";
import { growingStore, memoryStateReader } from "../support/state-reader.ts";
import { tempDir } from "../support/temp.ts";

const basic = (login: string, secret: string): string =>
  `Basic ${Buffer.from(`${login}:${secret}`).toString("base64")}`;

const chromium = ["/usr/bin/chromium", "chromium", "chromium-browser"].find(
  (name) => spawnSync(name, ["--version"], { stdio: "ignore" }).status === 0,
);

/** The DOM that a headless Chromium renders from `url`, with a profile of its own. */
function renderedDom(url: string): string {
  return execFileSync(
    chromium ?? "chromium",
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${tempDir("storefront-chromium-")}`,
      "--dump-dom",
      url,
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 60_000 },
  );
}

/** The number of points of one line of the chart, as the browser parsed it. */
function chartPoints(dom: string, series: string): number {
  const match = new RegExp(`<polyline class="series-${series}"[^>]*points="([^"]*)"`).exec(dom);
  return match === null ? 0 : (match[1] ?? "").split(" ").filter((p) => p !== "").length;
}

/** Paths and NAR bytes of `paths`, from Nix's database. */
function sizesOf(store: TestStore, paths: readonly string[]): { paths: number; bytes: number } {
  const db = new DatabaseSync(store.dbPath, { readOnly: true });
  try {
    let bytes = 0;
    for (const path of paths) {
      const row = db.prepare("SELECT narSize FROM ValidPaths WHERE path = ?").get(path);
      bytes += Number(row?.["narSize"]);
    }
    return { paths: paths.length, bytes };
  } finally {
    db.close();
  }
}

/** The closure of `path`, as `nix-store --query --requisites` lists it. */
function requisites(store: TestStore, path: string): string[] {
  return execFileSync("nix-store", ["--store", store.root, "--query", "--requisites", path], {
    encoding: "utf8",
  })
    .trim()
    .split("\n");
}

describe.skipIf(!hasNix)("the status page of a real store", () => {
  let store: TestStore;
  let paths: Map<string, string>;
  let work: string;
  let publicServer: RunningServer;
  let privateServer: RunningServer;
  let disabledServer: RunningServer;
  let readSecret = "";

  beforeAll(async () => {
    store = makeTestStore("storefront-status-");
    paths = nixBuild(store, STORE_NIX, ["app", "big", "topExe"]);
    work = tempDir("storefront-status-");
    const base = `bind = "127.0.0.1:0"\n${store.configLine}`;
    writeFileSync(join(work, "pin.toml"), base);
    const pinned = await runCli([
      "pin",
      "web",
      paths.get("app") ?? "",
      "--config",
      join(work, "pin.toml"),
    ]);
    expect(pinned.code, pinned.stderr).toBe(0);
    const secretPath = join(work, "ci.secret");
    const made = await runCli([
      "token",
      "generate",
      "ci",
      "--scopes",
      "read",
      "--secret",
      secretPath,
    ]);
    expect(made.code, made.stderr).toBe(0);
    readSecret = readFileSync(secretPath, "utf8").trim();
    const privateAccess = `[access]\npublic = false\n[[access.tokens]]\nname = "ci"\nsecret_path = ${JSON.stringify(secretPath)}\nscopes = ["read"]\n`;
    [publicServer, privateServer, disabledServer] = await Promise.all([
      startServer(tempDir("storefront-status-public-"), base),
      startServer(tempDir("storefront-status-private-"), `${base}${privateAccess}`),
      // Private too: an unknown path is a 404 there even without a token, where a route is a 401.
      startServer(
        tempDir("storefront-status-off-"),
        `${base}[status]\nenable = false\n${privateAccess}`,
      ),
    ]);
  });

  afterAll(async () => {
    // beforeAll may have failed half way.
    const servers = [publicServer, privateServer, disabledServer] as (RunningServer | undefined)[];
    for (const server of servers) await server?.stop();
    (store as TestStore | undefined)?.remove();
  });

  it("gives the store's figures, the pin's closure and the largest closures as JSON", async () => {
    const response = await get(publicServer.url, "/status.json");
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json");
    expect(response.headers["cache-control"]).toBe("no-store");
    const data = JSON.parse(response.body.toString()) as StatusData;

    const db = new DatabaseSync(store.dbPath, { readOnly: true });
    const all = db.prepare("SELECT COUNT(*) AS n, SUM(narSize) AS bytes FROM ValidPaths").get();
    db.close();
    expect(data.store).toMatchObject({
      storeDir: "/nix/store",
      paths: Number(all?.["n"]),
      narBytes: Number(all?.["bytes"]),
    });
    expect(data.store.freeBytes).toBeGreaterThan(0);

    const app = paths.get("app") ?? "";
    const appClosure = sizesOf(store, requisites(store, app));
    expect(appClosure.paths).toBe(4);
    expect(data.pins).toEqual([
      {
        name: "web",
        revisions: 1,
        storePath: app,
        closurePaths: appClosure.paths,
        closureBytes: appClosure.bytes,
      },
    ]);
    // The top-level outputs, largest first; app's references and the .drv files are not.
    const big = sizesOf(store, [paths.get("big") ?? ""]);
    const exe = sizesOf(store, [paths.get("topExe") ?? ""]);
    expect(data.largestClosures).toEqual([
      { storePath: paths.get("big"), closurePaths: 1, closureBytes: big.bytes },
      { storePath: app, closurePaths: 4, closureBytes: appClosure.bytes },
      { storePath: paths.get("topExe"), closurePaths: 1, closureBytes: exe.bytes },
    ]);
    // No state database in this branch: no history, pushes or runs, and it says so.
    expect(data.stateAvailable).toBe(false);
    expect(data.history).toEqual([]);
    expect(data.recentPushes).toEqual([]);
    expect(data.recentGcRuns).toEqual([]);
    expect(data.budget).toEqual({ maxStoreSize: null, minFree: null });
    expect(data.range).toBe("month");
  });

  it("shows the same as an HTML page", async () => {
    const response = await get(publicServer.url, "/status");
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
    const page = response.body.toString();
    expect(page).toContain("<h1>Store status</h1>");
    expect(page).toContain("No history yet: storefront keeps no state database here.");
    expect(page).toContain("<td>web</td>");
    expect(page).toContain(`${(paths.get("big") ?? "").slice("/nix/store/".length)}</code>`);
    expect(page).toContain("64 MiB");
    const head = await get(publicServer.url, "/status", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it("shows a year on request and refuses another range", async () => {
    const year = await get(publicServer.url, "/status.json?range=year");
    expect((JSON.parse(year.body.toString()) as StatusData).range).toBe("year");
    expect((await get(publicServer.url, "/status?range=year")).body.toString()).toContain(
      "<h2>Over the last year</h2>",
    );
    for (const path of ["/status?range=week", "/status.json?range=%3Cscript%3E"]) {
      const refused = await get(publicServer.url, path);
      expect(refused.status).toBe(400);
      expect(refused.body.toString()).toBe("bad request\n");
    }
  });

  it("needs a read token on a private cache", async () => {
    for (const path of ["/status", "/status.json"]) {
      const refused = await get(privateServer.url, path);
      expect(refused.status).toBe(401);
      expect(refused.body.toString()).not.toContain("web");
      const wrong = await get(privateServer.url, path, {
        headers: { authorization: basic("ci", "not-the-secret-at-all") },
      });
      expect(wrong.status).toBe(401);
      const read = await get(privateServer.url, path, {
        headers: { authorization: basic("ci", readSecret) },
      });
      expect(read.status).toBe(200);
      expect(read.body.toString()).toContain("web");
      expect(read.body.toString()).not.toContain(readSecret);
    }
  });

  it("is a 404 like any unknown path when turned off", async () => {
    const unknown = await get(disabledServer.url, "/no-such-page");
    expect(unknown.status).toBe(404);
    for (const path of ["/status", "/status.json", "/status?range=year"]) {
      for (const headers of [{}, { authorization: basic("ci", readSecret) }]) {
        const off = await get(disabledServer.url, path, { headers });
        expect(off.status).toBe(404);
        expect(off.body.toString()).toBe(unknown.body.toString());
      }
    }
    expect((await get(disabledServer.url, "/")).status).toBe(200);
  });

  // CI installs Chromium (.ci/install-deps): there the browser tests run, never skip.
  describe.skipIf(chromium === undefined && process.env["CI"] !== "true")("in Chromium", () => {
    it("renders the served page, with the empty history's note", () => {
      const dom = renderedDom(`${publicServer.url}/status`);
      expect(dom).toContain("<h1>Store status</h1>");
      expect(dom).toContain("No history yet");
      expect(dom).toContain("<td>web</td>");
    });

    it("draws one point per sample of the history", () => {
      const now = Date.UTC(2026, 11, 3, 7, 0);
      const history = growingStore(117, now);
      const data = assembleStatus({
        now,
        range: "month",
        store: {
          storeDir: "/nix/store",
          paths: 3,
          narBytes: 3000,
          freeBytes: 10_000,
          pins: [],
          largestClosures: [],
        },
        state: memoryStateReader({ history }),
        budget: { maxStoreSize: 200 * 1024 ** 3 },
      });
      expect(data.history).toHaveLength(117);
      const file = join(tempDir("storefront-status-page-"), "status.html");
      writeFileSync(file, renderStatusPage(data));
      const dom = renderedDom(`file://${file}`);
      for (const series of ["store", "pinned", "free", "paths"]) {
        expect(chartPoints(dom, series)).toBe(117);
      }
      expect(dom).toContain("117 samples");
    });
  });
});
