// The status page as HTML: the store's facts, the chart or the reason there is none, the
// tables, everything escaped, and no script.

import { describe, expect, it } from "vitest";
import { assembleStatus, type StatusData } from "../../src/status/status-data.ts";
import { renderStatusPage } from "../../src/status/status-page.ts";
import { growingStore, memoryStateReader } from "../support/state-reader.ts";

const NOW = Date.UTC(2026, 11, 3, 7, 0);
const GIB = 1024 ** 3;

function data(overrides: Partial<StatusData> = {}): StatusData {
  return {
    ...assembleStatus({
      now: NOW,
      range: "month",
      store: {
        storeDir: "/nix/store",
        paths: 12345,
        narBytes: 80 * GIB,
        freeBytes: 120 * GIB,
        pins: [
          {
            name: "web",
            revisions: 3,
            storePath: "/nix/store/0000000000000000000000000000000a-web",
            closurePaths: 812,
            closureBytes: 3 * GIB,
          },
        ],
        largestClosures: [
          {
            storePath: "/nix/store/0000000000000000000000000000000b-big",
            closurePaths: 2,
            closureBytes: 64 * 1024 ** 2,
          },
        ],
      },
      state: memoryStateReader({
        history: growingStore(120, NOW),
        pushes: [
          {
            time: NOW - 60_000,
            token: "ci",
            path: "/nix/store/0000000000000000000000000000000c-pushed",
            narSize: 5 * 1024 ** 2,
          },
        ],
        gcRuns: [{ time: NOW - 120_000, paths: 42, bytes: 2 * GIB, unmet: true }],
      }),
      budget: { maxStoreSize: 200 * GIB, minFree: 20 * GIB },
    }),
    ...overrides,
  };
}

describe("the status page", () => {
  it("shows the store now, the chart and the tables", () => {
    const page = renderStatusPage(data());
    expect(page).toContain("<h1>Store status</h1>");
    expect(page).toContain("<tr><th>Paths</th><td>12\u202f345</td></tr>");
    expect(page).toContain("80 GiB (NAR bytes of all valid paths), 40\u00a0% of the budget");
    expect(page).toContain("120 GiB on the store's file system");
    expect(page).toContain("store at most 200 GiB, at least 20 GiB free");
    expect(page).toContain("<h2>Over the last 30 days</h2>");
    expect(page).toContain('<a href="?range=year">the last year</a>');
    expect(page).toMatch(/<svg class="chart"/);
    expect(page).toContain("120 samples, from ");
    // Pins, largest closures, pushes (token name, path, size) and GC runs.
    expect(page).toContain("<td>web</td>");
    expect(page).toContain(">0000000000000000000000000000000a-web</code>");
    expect(page).toContain("3 GiB");
    expect(page).toContain(">0000000000000000000000000000000b-big</code>");
    expect(page).toContain("<td>ci</td>");
    expect(page).toContain("5 MiB");
    expect(page).toContain("2026-12-03 06:59 UTC");
    expect(page).toContain("over budget, nothing dead left");
    expect(page).not.toMatch(/<script\b/);
  });

  it("says why there is no chart", () => {
    expect(renderStatusPage(data({ history: [] }))).toContain("No history yet: storefront samples");
    const stateless = renderStatusPage(
      data({ history: [], stateAvailable: false, recentPushes: [], recentGcRuns: [] }),
    );
    expect(stateless).toContain("No history yet: storefront keeps no state database here.");
    expect(stateless).toContain("Not recorded: no state database.");
    expect(stateless).not.toMatch(/<svg/);
  });

  it("links the other range and the JSON of the same range", () => {
    const page = renderStatusPage(data({ range: "year" }));
    expect(page).toContain("<h2>Over the last year</h2>");
    expect(page).toContain('<a href="?range=month">the last 30 days</a>');
    expect(page).toContain('<a href="status.json?range=year">as JSON</a>');
  });

  it("escapes what comes from the store and the state", () => {
    const hostile = '<img src=x onerror="alert(1)">';
    const page = renderStatusPage(
      data({
        store: { storeDir: `/nix/${hostile}`, paths: 1, narBytes: 1, freeBytes: null },
        pins: [
          {
            name: hostile,
            revisions: 1,
            storePath: `/nix/store/${hostile}`,
            closurePaths: 1,
            closureBytes: 1,
          },
        ],
        recentPushes: [{ time: NOW, token: hostile, path: hostile, narSize: 1 }],
      }),
    );
    expect(page).not.toContain("<img");
    expect(page).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(page).toContain("<tr><th>Free space</th><td>unknown</td></tr>");
  });
});
