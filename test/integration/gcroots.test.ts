// Pins as GC roots, with a real Nix: a closure pushed with `nix copy --to` is pinned by the
// daemon, survives `nix-store --gc`, and is collected once its retention has passed and
// `storefront prune` ran; pins made and removed with the CLI; roots deleted by hand are seen.

import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  hasNix,
  makeTestStore,
  nixBuild,
  nixCommand,
  type TestStore,
  hashOf,
  baseNameOf,
} from "../support/nix.ts";
import { parseMetrics } from "../support/metrics.ts";
import { runCli, startServer, type RunningServer } from "../support/server.ts";
import { waitForValue } from "../support/wait.ts";

const FIXTURE = new URL("../fixtures/store.nix", import.meta.url).pathname;
const START = "2026-01-01T00:00:00Z";
const DAY_SECONDS = 24 * 60 * 60;
const at = (days: number): string => String(Date.parse(START) / 1000 + days * DAY_SECONDS);

interface PinsJson {
  pins: {
    name: string;
    retention: { kind: string; days?: number; count?: number };
    revisions: { revision: number; storePath: string; createdAt: string }[];
  }[];
}

describe.skipIf(!hasNix)("GC roots", () => {
  let source: TestStore;
  let served: TestStore;
  let server: RunningServer | undefined;
  let configPath: string;
  let paths: Map<string, string>;
  let cacheHome: string;

  const cli = (args: string[], now = START) =>
    runCli([...args, "--config", configPath], { STOREFRONT_NOW: now });
  const pins = async (now = START): Promise<PinsJson> => {
    const result = await cli(["pins", "--json"], now);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as PinsJson;
  };
  const collectGarbage = (): void => {
    const result = spawnSync("nix-store", ["--gc", "--store", served.root], { encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
  };
  const onDisk = (storePath: string): boolean => existsSync(served.realPath(storePath));
  const narInfoStatus = async (storePath: string): Promise<number> =>
    (await fetch(`${server?.url ?? ""}/${hashOf(storePath)}.narinfo`)).status;
  const validPaths = (): number => {
    const database = new DatabaseSync(served.dbPath, { readOnly: true });
    const row = database.prepare("SELECT COUNT(*) AS count FROM ValidPaths").get();
    database.close();
    return Number(row?.["count"]);
  };
  const metrics = async (): Promise<Map<string, number>> =>
    parseMetrics(await (await fetch(`${server?.url ?? ""}/metrics`)).text());

  beforeAll(async () => {
    source = makeTestStore("storefront-push-source-");
    served = makeTestStore("storefront-push-served-");
    cacheHome = join(served.root, "cache-home");
    paths = nixBuild(source, FIXTURE, ["app", "lib", "tree", "topFile"]);
    // The served store starts with one path of its own, which no root keeps.
    const own = nixBuild(served, FIXTURE, ["topExe", "topSymlink"]);
    paths.set("topExe", own.get("topExe") ?? "");
    paths.set("topSymlink", own.get("topSymlink") ?? "");
    configPath = join(served.root, "storefront.toml");
    server = await startServer(
      served.root,
      [
        `bind = "127.0.0.1:0"`,
        `real_nix_store = "${served.realStoreDir}"`,
        `[gcroots]`,
        `pin_new_paths = true`,
        `new_path_keep_days = 30`,
      ].join("\n"),
      { env: { STOREFRONT_NOW: START } },
    );
  });

  afterAll(async () => {
    await server?.stop();
    source.remove();
    served.remove();
  });

  it("keeps a pushed closure until its retention has passed", async () => {
    const app = paths.get("app") ?? "";
    const closure = ["app", "lib", "tree", "topFile"].map((name) => paths.get(name) ?? "");
    const topExe = paths.get("topExe") ?? "";
    expect(await narInfoStatus(app)).toBe(404);
    expect(await narInfoStatus(topExe)).toBe(200);

    const copy = nixCommand(
      ["copy", "--from", source.root, "--to", served.root, "--no-check-sigs", app],
      cacheHome,
    );
    expect(copy.status, copy.output).toBe(0);

    // Pinned by the daemon: the top-level path only, for 30 days.
    // The daemon may see the closure over several scans and pin a dependency first; it drops
    // that pin once the top-level path is pinned.
    const pinned = await waitForValue("the auto pin", async () => {
      const list = await pins();
      return list.pins.some((pin) => pin.name === `auto:${baseNameOf(app)}`) ? list : undefined;
    });
    expect(pinned.pins.map((pin) => pin.name)).toEqual([`auto:${baseNameOf(app)}`]);
    expect(pinned.pins[0]?.retention).toEqual({ kind: "days", days: 30 });
    expect(pinned.pins[0]?.revisions.map((r) => [r.storePath, r.createdAt])).toEqual([
      [app, "2026-01-01T00:00:00.000Z"],
    ]);
    expect(await narInfoStatus(app)).toBe(200);

    // Metrics count the pushed paths and what the pin keeps.
    const afterPush = await waitForValue("store metrics after the push", async () => {
      const m = await metrics();
      return m.get("storefront_pinned_paths") === 4 ? m : undefined;
    });
    expect(afterPush.get("storefront_store_valid_paths")).toBe(validPaths());
    expect(afterPush.get("storefront_pins")).toBe(1);
    expect(afterPush.get("storefront_store_new_paths_total")).toBe(4);

    // The garbage collector keeps the closure, and takes the unpinned path.
    collectGarbage();
    for (const path of closure) expect(onDisk(path), path).toBe(true);
    expect(onDisk(topExe)).toBe(false);
    await waitForValue("the collected path's narinfo to go", async () =>
      (await narInfoStatus(topExe)) === 404 ? true : undefined,
    );
    await waitForValue("the store metrics after the GC", async () =>
      (await metrics()).get("storefront_store_valid_paths") === validPaths() ? true : undefined,
    );

    // 29 days later the pin holds; 31 days later prune removes it and the GC takes the closure.
    const early = await cli(["prune"], at(29));
    expect(early.stdout).toContain("0 revisions removed");
    expect((await pins(at(29))).pins).toHaveLength(1);
    const late = await cli(["prune"], at(31));
    expect(late.code, late.stderr).toBe(0);
    expect(late.stdout).toContain("1 revision removed");
    expect((await pins(at(31))).pins).toEqual([]);
    collectGarbage();
    for (const path of closure) expect(onDisk(path), path).toBe(false);
    await waitForValue("the collected closure's narinfo to go", async () =>
      (await narInfoStatus(app)) === 404 ? true : undefined,
    );
    await waitForValue("the pin metrics to drop", async () =>
      (await metrics()).get("storefront_pinned_paths") === 0 ? true : undefined,
    );
  });

  it("pins and unpins through the CLI", async () => {
    const path = nixBuild(served, FIXTURE, ["topFile"]).get("topFile") ?? "";
    const realPath = served.realPath(path);

    for (const name of [
      "..",
      "a/b",
      "",
      ".hidden",
      "auto:mine",
      "tab\there",
      "a\u0085b",
      "a\u202eb",
    ]) {
      const refused = await cli(["pin", name, path]);
      expect(refused.code, name).toBe(1);
      expect(refused.stderr).toMatch(/^storefront: (a pin name|names starting)/);
    }
    const missing = await cli(["pin", "web", `/nix/store/${"0".repeat(32)}-gone`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("is not a valid path in the store");
    const notAPath = await cli(["pin", "web", "/etc/passwd"]);
    expect(notAPath.code).toBe(1);
    expect(notAPath.stderr).toContain("is not a store path");
    const both = await cli(["pin", "web", path, "--keep-days", "2", "--keep-forever"]);
    expect(both.code).toBe(2);

    // The real path is accepted and pinned as the logical one.
    const first = await cli(["pin", "web", realPath, "--keep-revisions", "1"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(`pinned web revision 1: ${path} (keep 1 revision)\n`);
    const second = await cli(["pin", "web", path], at(1));
    expect(second.stdout).toContain("revision 2");
    let web = (await pins()).pins.find((pin) => pin.name === "web");
    expect(web?.revisions.map((r) => r.revision)).toEqual([1, 2]);
    expect(web?.retention).toEqual({ kind: "revisions", count: 1 });

    const pruned = await cli(["prune"], at(2));
    expect(pruned.stdout).toContain(`removed web revision 1: ${path}`);
    web = (await pins()).pins.find((pin) => pin.name === "web");
    expect(web?.revisions.map((r) => r.revision)).toEqual([2]);

    const human = await cli(["pins"]);
    expect(human.stdout).toContain("web (keep 1 revision)\n  2  2026-01-02T00:00:00.000Z  ");

    const unpinned = await cli(["unpin", "web"]);
    expect(unpinned.code, unpinned.stderr).toBe(0);
    expect((await pins()).pins.find((pin) => pin.name === "web")).toBeUndefined();
    const again = await cli(["unpin", "web"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('there is no pin "web"');
    const badUnpin = await cli(["unpin", ".."]);
    expect(badUnpin.code).toBe(1);
  });

  it("keeps the newest revision of a pin kept for days until it is unpinned", async () => {
    const path = nixBuild(served, FIXTURE, ["topFile"]).get("topFile") ?? "";
    // The daemon pins the new path for 30 days as well; only the pin under test may keep it.
    const auto = `auto:${baseNameOf(path)}`;
    await waitForValue("the auto pin", async () =>
      (await pins()).pins.some((pin) => pin.name === auto) ? true : undefined,
    );
    expect((await cli(["unpin", auto])).code).toBe(0);
    for (const day of [0, 0.25, 0.5]) {
      const pinned = await cli(["pin", "site", path, "--keep-days", "1"], at(day));
      expect(pinned.code, pinned.stderr).toBe(0);
    }
    const listed = await cli(["pins"], at(0.5));
    expect(listed.stdout).toContain(
      `site (keep 1 day)\n  1  2026-01-01T00:00:00.000Z  ${path}  (expires 2026-01-02T00:00:00Z)\n`,
    );
    expect(listed.stdout).toContain(
      `  3  2026-01-01T12:00:00.000Z  ${path}  (newest: kept while the pin exists)\n`,
    );

    // Two days later, prune removes the older revisions; the newest stays, and so does the path.
    const pruned = await cli(["prune"], at(2));
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain("2 revisions removed");
    const site = (await pins(at(2))).pins.find((pin) => pin.name === "site");
    expect(site?.revisions.map((r) => r.revision)).toEqual([3]);
    collectGarbage();
    expect(onDisk(path)).toBe(true);

    expect((await cli(["unpin", "site"], at(2))).code).toBe(0);
    collectGarbage();
    expect(onDisk(path)).toBe(false);
  });

  it("sees roots deleted by hand", async () => {
    const path = nixBuild(served, FIXTURE, ["topFile"]).get("topFile") ?? "";
    expect((await cli(["pin", "by-hand", path])).code).toBe(0);
    const before = (await pins()).pins.length;
    await waitForValue("the pin counted in the metrics", async () =>
      (await metrics()).get("storefront_pins") === before ? true : undefined,
    );

    const pinDir = join(served.root, "nix/var/nix/gcroots/storefront/by-hand");
    for (const entry of readdirSync(pinDir)) {
      if (entry !== "pin.json") rmSync(join(pinDir, entry));
    }
    const after = (await pins()).pins;
    expect(after.find((pin) => pin.name === "by-hand")).toBeUndefined();
    expect(after).toHaveLength(before - 1);
    await waitForValue("the metrics to see the root gone", async () =>
      (await metrics()).get("storefront_pins") === before - 1 ? true : undefined,
    );
    // A stray regular file in the roots directory is not mistaken for a pin.
    writeFileSync(join(served.root, "nix/var/nix/gcroots/storefront/stray"), "x");
    expect((await pins()).pins.find((pin) => pin.name === "stray")).toBeUndefined();
  });
});
