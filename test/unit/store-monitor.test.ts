// Pins of pushed closures, with a database of Nix's schema filled path by path: `nix copy`
// registers a closure's paths as they arrive, so the monitor may see it over several scans,
// references first, and must end with one pin, for the top-level path.

import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.ts";
import { autoPinName } from "../../src/core/pins/pin-name.ts";
import { createLogger } from "../../src/log.ts";
import { createStoreMetrics, type StoreMetrics } from "../../src/metrics/store-metrics.ts";
import { closureTotalsInThread } from "../../src/store/db/closure-totals-thread.ts";
import { GcRoots } from "../../src/store/roots/gc-roots.ts";
import { StoreIndex } from "../../src/store/db/store-index.ts";
import { StoreMonitor } from "../../src/store/roots/store-monitor.ts";
import { NIX_PATH_TABLES } from "../support/nix-schema.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor } from "../support/wait.ts";

const baseName = (name: string, n: number): string => `${String(n).padStart(32, "0")}-${name}`;

/**
 * A database of Nix's schema, a roots directory and a monitor that pins new paths; or, when
 * `threaded`, one that pins nothing and counts what the pins keep on a thread, however small
 * the store.
 */
function monitoredStore(threaded = false): {
  register: (name: string, references: readonly string[]) => string;
  monitor: StoreMonitor;
  roots: GcRoots;
  metrics: StoreMetrics;
} {
  const dir = tempDir();
  const dbPath = join(dir, "db.sqlite");
  const writer = new DatabaseSync(dbPath);
  writer.exec(NIX_PATH_TABLES);
  const ids = new Map<string, number>();
  const register = (name: string, references: readonly string[]): string => {
    const base = baseName(name, ids.size + 1);
    const { lastInsertRowid } = writer
      .prepare(
        "INSERT INTO ValidPaths (path, hash, registrationTime, narSize) VALUES (?, ?, 0, 100)",
      )
      .run(`/nix/store/${base}`, `sha256:${"0".repeat(64)}`);
    ids.set(name, Number(lastInsertRowid));
    for (const reference of references) {
      writer
        .prepare("INSERT INTO Refs (referrer, reference) VALUES (?, ?)")
        .run(lastInsertRowid, ids.get(reference) ?? 0);
    }
    return base;
  };
  const roots = new GcRoots(join(dir, "roots"), systemClock);
  roots.ensureDir();
  const metrics = createStoreMetrics(new Registry());
  const monitor = new StoreMonitor({
    index: new StoreIndex(dbPath),
    roots,
    metrics,
    log: createLogger(() => undefined),
    storeDir: "/nix/store",
    pinNewPathsForDays: threaded ? undefined : 30,
    ...(threaded
      ? {
          countInThread: (paths: readonly string[]) => closureTotalsInThread(dbPath, paths),
          countInThreadFrom: 0,
        }
      : {}),
  });
  return { register, monitor, roots, metrics };
}

describe("pins of pushed closures", () => {
  it("end with the top-level path alone when a closure arrives over two scans", () => {
    const { register, monitor, roots } = monitoredStore();
    // app refers to lib, which refers to tree: app's direct references do not include tree.
    // The first scan sees tree alone; the second lib and app together, and app's top-level.
    register("tree", []);
    monitor.scan();
    register("lib", ["tree"]);
    const app = register("app", ["lib"]);
    monitor.scan();

    expect(roots.list().map((pin) => pin.name)).toEqual([autoPinName(app)]);
  });

  it("pin a build's outputs, never its derivation, even when the build failed", () => {
    const { register, monitor, roots } = monitoredStore();
    // A build on the server: the evaluation adds a source and the .drv that refers to it; a
    // successful build then registers the output (which refers to neither).
    register("builder.sh", []);
    monitor.scan();
    register("hello.drv", ["builder.sh"]);
    monitor.scan();
    const out = register("hello", []);
    monitor.scan();
    // A failed build leaves only its derivation (and that derivation's sources).
    register("broken-src", []);
    register("broken.drv", ["broken-src"]);
    monitor.scan();

    expect(roots.list().map((pin) => pin.name)).toEqual([autoPinName(out)]);
  });
});

describe("what the pins keep, on a large store", () => {
  it("is counted on a thread, and once more when the roots changed meanwhile", async () => {
    const { register, monitor, roots, metrics } = monitoredStore(true);
    const gauge = async (name: "pinnedPaths" | "pinnedBytes" | "pins"): Promise<number> =>
      (await metrics[name].get()).values[0]?.value ?? -1;
    register("lib", []);
    const app = register("app", ["lib"]);
    register("other", []);
    monitor.scan();
    roots.pin("app", `/nix/store/${app}`, undefined);
    monitor.rootsChanged();
    // Asked again while the first count (the constructor's) may still run: counted after it.
    roots.pin("app-again", `/nix/store/${app}`, undefined);
    monitor.rootsChanged();
    await waitFor(
      async () => (await gauge("pinnedPaths")) === 2 && (await gauge("pinnedBytes")) === 200,
      "the count on a thread",
      10_000,
    );
    expect(await gauge("pins")).toBe(2);
    // What the budget's history samples take: the same count.
    expect(await monitor.kept()).toEqual({ count: 2, bytes: 200 });
  });
});
