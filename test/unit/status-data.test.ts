// The status page's data: the store's figures measured at most every few seconds, the history
// of the range asked for, the budget as given, the state's lists; and all of it plain JSON.

import { describe, expect, it } from "vitest";
import { assembleStatus, parseRange, type StoreStatus } from "../../src/status/status-data.ts";
import {
  CACHE_MS,
  StatusService,
  type StoreOverviewSource,
} from "../../src/status/status-service.ts";
import type { Pin } from "../../src/store/roots/gc-roots.ts";
import { memoryStateReader } from "../support/state-reader.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 11, 3, 7, 0);

const store: StoreStatus = {
  storeDir: "/nix/store",
  paths: 3,
  narBytes: 3000,
  freeBytes: 10_000,
  pins: [],
  largestClosures: [],
};

const sample = (daysAgo: number, narBytes: number) => ({
  time: NOW - daysAgo * DAY_MS,
  paths: 1,
  narBytes,
  freeBytes: 1,
  pinnedBytes: 0,
});

const state = memoryStateReader({
  history: [sample(200, 1), sample(31, 2), sample(29, 3), sample(0, 4)],
  pushes: [
    { time: NOW - 2000, token: "ci", path: "/nix/store/a-old", narSize: 10 },
    { time: NOW - 1000, token: "ci", path: "/nix/store/b-new", narSize: 20 },
  ],
  gcRuns: [{ time: NOW - 500, paths: 4, bytes: 400, unmet: false }],
});

describe("the status data", () => {
  it("holds the last 30 days by default and a year on request", () => {
    const month = assembleStatus({ now: NOW, range: "month", store, state });
    expect(month.since).toBe(NOW - 30 * DAY_MS);
    expect(month.history.map((s) => s.narBytes)).toEqual([3, 4]);
    const year = assembleStatus({ now: NOW, range: "year", store, state });
    expect(year.since).toBe(NOW - 365 * DAY_MS);
    expect(year.history.map((s) => s.narBytes)).toEqual([1, 2, 3, 4]);
  });

  it("gives the store, the budget and the state's lists, newest first", () => {
    const data = assembleStatus({
      now: NOW,
      range: "month",
      store,
      state,
      budget: { maxStoreSize: 5000 },
    });
    expect(data.store).toEqual({
      storeDir: "/nix/store",
      paths: 3,
      narBytes: 3000,
      freeBytes: 10_000,
    });
    expect(data.budget).toEqual({ maxStoreSize: 5000, minFree: null });
    expect(data.stateAvailable).toBe(true);
    expect(data.recentPushes.map((p) => p.path)).toEqual(["/nix/store/b-new", "/nix/store/a-old"]);
    expect(data.recentGcRuns).toEqual([{ time: NOW - 500, paths: 4, bytes: 400, unmet: false }]);
  });

  it("is empty where there is no state database, and says so", () => {
    const data = assembleStatus({ now: NOW, range: "month", store, state: undefined });
    expect(data.stateAvailable).toBe(false);
    expect(data.history).toEqual([]);
    expect(data.recentPushes).toEqual([]);
    expect(data.recentGcRuns).toEqual([]);
    expect(data.budget).toEqual({ maxStoreSize: null, minFree: null });
  });

  it("is plain JSON: what /status.json sends reads back the same", () => {
    const data = assembleStatus({ now: NOW, range: "year", store, state, budget: { minFree: 7 } });
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
  });

  it("takes month or year as its range, and nothing else", () => {
    expect(parseRange(null)).toBe("month");
    expect(parseRange("")).toBe("month");
    expect(parseRange("month")).toBe("month");
    expect(parseRange("year")).toBe("year");
    expect(parseRange("week")).toBeUndefined();
    expect(parseRange("YEAR")).toBeUndefined();
  });
});

/** An overview that counts its measurements. */
function countingOverview(): StoreOverviewSource & { readonly measured: () => number } {
  let measured = 0;
  return {
    measured: () => measured,
    measure: (request) => {
      measured++;
      return Promise.resolve({
        totals: { paths: 10 * measured, bytes: 100 * measured },
        groupClosures: request.groups.map((paths) => ({
          paths: paths.length,
          bytes: 7 * paths.length,
        })),
        topLevel: [
          { id: 1, storePath: "/nix/store/1-served-small", paths: 2, bytes: 50 },
          { id: 2, storePath: "/nix/store/2-hidden", paths: 3, bytes: 90 },
          { id: 3, storePath: "/nix/store/3-served-large", paths: 3, bytes: 70 },
        ],
      });
    },
  };
}

const pin = (name: string, paths: string[]): Pin => ({
  name,
  retention: { kind: "forever" },
  revisions: paths.map((storePath, i) => ({ number: i + 1, storePath, createdAt: i })),
});

/** Two pins: `web` of two revisions, `api` of one. */
const webAndApi = {
  list: () => [pin("web", ["/nix/store/w1", "/nix/store/w2"]), pin("api", ["/nix/store/a1"])],
};

describe("the status service", () => {
  it("measures the store at most once per CACHE_MS", async () => {
    const overview = countingOverview();
    let now = NOW;
    const service = new StatusService({
      overview,
      pins: { list: () => [] },
      storeDir: "/nix/store",
      realStoreDir: "/",
      now: () => now,
    });
    // Requests while a measurement runs share it.
    const [first, second] = await Promise.all([service.status("month"), service.status("year")]);
    expect([first.store.paths, second.store.paths]).toEqual([10, 10]);
    now += CACHE_MS - 1;
    expect((await service.status("year")).store.paths).toBe(10);
    expect(overview.measured()).toBe(1);
    now += 1;
    expect((await service.status("month")).store.paths).toBe(20);
    expect(overview.measured()).toBe(2);
  });

  it("lists the pins by name with what their revisions keep, and the largest served closures", async () => {
    const service = new StatusService({
      overview: countingOverview(),
      pins: webAndApi,
      storeDir: "/nix/store",
      realStoreDir: "/",
      serves: (id) => id !== 2,
      now: () => NOW,
      budget: { maxStoreSize: 1, minFree: 2 },
    });
    const data = await service.status("month");
    expect(data.pins).toEqual([
      { name: "api", revisions: 1, storePath: "/nix/store/a1", closurePaths: 1, closureBytes: 7 },
      { name: "web", revisions: 2, storePath: "/nix/store/w2", closurePaths: 2, closureBytes: 14 },
    ]);
    expect(data.largestClosures).toEqual([
      { storePath: "/nix/store/3-served-large", closurePaths: 3, closureBytes: 70 },
      { storePath: "/nix/store/1-served-small", closurePaths: 2, closureBytes: 50 },
    ]);
    expect(data.budget).toEqual({ maxStoreSize: 1, minFree: 2 });
    // The root file system: statfs answers.
    expect(data.store.freeBytes).toBeGreaterThan(0);
  });
});

describe("under [exposure]", () => {
  it("names no pin nor push of a path that is not served", async () => {
    const hidden = new Set(["/nix/store/a1", "/nix/store/a-old"]);
    const service = new StatusService({
      overview: countingOverview(),
      pins: webAndApi,
      storeDir: "/nix/store",
      realStoreDir: "/",
      state,
      serves: (id) => id !== 2,
      servesPath: (storePath) => !hidden.has(storePath),
      now: () => NOW,
    });
    const data = await service.status("month");
    expect(data.pins.map((shown) => shown.name)).toEqual(["web"]);
    expect(data.recentPushes.map((push) => push.path)).toEqual(["/nix/store/b-new"]);
    expect(JSON.stringify(data)).not.toMatch(/a1|a-old|2-hidden/);
  });
});

describe("a failed measurement", () => {
  it("is not kept: the next request measures again", async () => {
    let calls = 0;
    const service = new StatusService({
      overview: {
        measure: () => {
          calls++;
          return calls === 1
            ? Promise.reject(new Error("database locked"))
            : countingOverview().measure({ groups: [], candidates: 1 });
        },
      },
      pins: { list: () => [] },
      storeDir: "/nix/store",
      realStoreDir: "/",
      now: () => NOW,
    });
    await expect(service.status("month")).rejects.toThrow("database locked");
    expect((await service.status("month")).store.paths).toBe(10);
  });
});
