// storefront's own state database: what the status page reads (StateReader), the schema
// version, and the writer that batches last uses and pushes and copes with another process
// holding the lock.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StateDatabase } from "../../src/state/state-database.ts";
import { StateWriter } from "../../src/state/state-writer.ts";
import type { Logger } from "../../src/log.ts";

const DAY = 24 * 3_600_000;

describe("the state database", () => {
  let dir: string;
  let opened: StateDatabase[];
  const open = (busyTimeoutMs = 50): StateDatabase => {
    const database = new StateDatabase(dir, { busyTimeoutMs });
    opened.push(database);
    return database;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "storefront-state-"));
    opened = [];
  });
  afterEach(() => {
    for (const database of opened) database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps last uses (the later time wins), pushes and runs, newest first", () => {
    const state = open();
    state.write(new Map([["a".repeat(32), 100]]), [
      { time: 100, token: "ci", path: "/nix/store/x-one", narSize: 10 },
      { time: 200, token: "ci", path: "/nix/store/y-two", narSize: 20 },
    ]);
    // Another process recorded an older use of the same path later: the newer stays.
    open().write(new Map([["a".repeat(32), 50]]), []);
    expect(state.lastUses(["a".repeat(32), "b".repeat(32)])).toEqual(
      new Map([["a".repeat(32), 100]]),
    );
    expect(state.recentPushes(1)).toEqual([
      { time: 200, token: "ci", path: "/nix/store/y-two", narSize: 20 },
    ]);
    state.addGcRun({ time: 5, paths: 2, bytes: 30, unmet: false });
    state.addGcRun({ time: 6, paths: 0, bytes: 0, unmet: true });
    expect(state.recentGcRuns(5)).toEqual([
      { time: 6, paths: 0, bytes: 0, unmet: true },
      { time: 5, paths: 2, bytes: 30, unmet: false },
    ]);
    state.forgetUses(["a".repeat(32)]);
    expect(state.lastUses(["a".repeat(32)]).size).toBe(0);
  });

  it("keeps history samples thinned with age, and drops records older than a year", () => {
    const state = open();
    const now = 20_000 * DAY;
    const sample = (time: number) => ({
      time,
      paths: 1,
      narBytes: 2,
      freeBytes: 3,
      pinnedBytes: 4,
    });
    state.write(new Map(), [
      { time: now - 400 * DAY, token: "t", path: "/nix/store/o", narSize: 1 },
    ]);
    state.addGcRun({ time: now - 400 * DAY, paths: 1, bytes: 1, unmet: false });
    for (const ago of [400 * DAY, 40 * DAY, 40 * DAY - 60_000, 3 * DAY, 3 * DAY - 60_000, 60_000]) {
      state.addSample(sample(now - ago));
    }
    state.addSample(sample(now));
    expect(state.history(0).map((s) => (now - s.time) / 60_000)).toEqual([
      40 * 24 * 60,
      3 * 24 * 60,
      1,
      0,
    ]);
    expect(state.history(now - 60_000)).toEqual([sample(now - 60_000), sample(now)]);
    expect(state.recentPushes(10)).toEqual([]);
    expect(state.recentGcRuns(10)).toEqual([]);
  });

  it("refuses a schema made by a newer storefront, naming the file", () => {
    open().close();
    opened = [];
    const raw = new DatabaseSync(join(dir, "state.sqlite"));
    raw.exec("PRAGMA user_version = 99");
    raw.close();
    expect(() => open()).toThrow(/state\.sqlite has schema version 99, made by a newer storefront/);
  });

  it("the writer keeps what a locked database refused and writes it on the next try", () => {
    const state = open();
    const warnings: string[] = [];
    const log: Logger = {
      info: () => undefined,
      debug: () => undefined,
      error: () => undefined,
      warn: (message) => warnings.push(message),
    };
    let now = 1000;
    const writer = new StateWriter(state, () => now, log);
    writer.used("a".repeat(32));
    writer.pushed({ token: "ci", path: "/nix/store/p", narSize: 5 }, "b".repeat(32));
    // Another process holds the write lock past the busy timeout.
    const other = new DatabaseSync(join(dir, "state.sqlite"));
    other.exec("BEGIN IMMEDIATE");
    expect(writer.flush()).toBe(false);
    expect(warnings).toEqual(["cannot write the state database; retrying every second"]);
    now = 2000;
    writer.used("a".repeat(32));
    other.exec("COMMIT");
    other.close();
    expect(writer.flush()).toBe(true);
    expect(state.lastUses(["a".repeat(32), "b".repeat(32)])).toEqual(
      new Map([
        ["a".repeat(32), 2000],
        ["b".repeat(32), 1000],
      ]),
    );
    expect(state.recentPushes(5)).toEqual([
      { time: 1000, token: "ci", path: "/nix/store/p", narSize: 5 },
    ]);
    writer.close();
  });
});
