// Entries of the NAR cache are synced in batches before they get their names: an entry is
// never found under its name before its data is on disk, so a crash between the write and the
// sync leaves at most a temporary file, which is never served; a failed sync leaves nothing.

import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.ts";
import { CacheDirectory } from "../../src/store/nar-cache/cache-directory.ts";
import { SyncBatch } from "../../src/store/nar-cache/sync-batch.ts";
import { TempEntry } from "../../src/store/nar-cache/temp-entry.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor } from "../support/wait.ts";

const entryName = (letter: string): string => `${letter.repeat(52)}.layout`;

/** A sync that does nothing until told to: stands for the disk, and for a crash before it. */
function heldSync() {
  const calls: number[] = [];
  const pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  const sync = (fd: number): Promise<void> =>
    new Promise((resolve, reject) => {
      calls.push(fd);
      pending.push({ resolve, reject });
    });
  return {
    calls,
    sync,
    finish: () => {
      for (const { resolve } of pending.splice(0)) resolve();
    },
    fail: () => {
      for (const { reject } of pending.splice(0)) reject(new Error("EIO"));
    },
  };
}

function openDirectory(path: string, batch: SyncBatch): CacheDirectory {
  const log = createLogger(() => undefined);
  const directory = CacheDirectory.open({ enable: true, path, max_size: 1 << 30 }, log, batch);
  if (directory === undefined) throw new Error("no cache directory");
  return directory;
}

function finishEntry(directory: CacheDirectory, name: string): Promise<void> {
  const entry = TempEntry.start(directory, name, "NAR cache");
  if (entry === undefined) throw new Error("no entry");
  const bytes = Buffer.from(`bytes of ${name}`);
  expect(entry.write(bytes, 0, bytes.length, 0)).toBe(true);
  return entry.commit(Buffer.from("trailer"), bytes.length, bytes.length + 7);
}

describe("NAR cache entries put on disk in batches", () => {
  it("gives entries their names only once their batch is synced", async () => {
    const dir = tempDir("storefront-sync-");
    const held = heldSync();
    const directory = openDirectory(dir, new SyncBatch(held.sync, 20));
    const committed = ["a", "b", "c"].map((letter) => finishEntry(directory, entryName(letter)));
    await waitFor(() => held.calls.length === 3, "the batch's syncs");
    // Written, not yet synced: what a crash now would leave. No entry has its name.
    expect(readdirSync(dir).filter((name) => !name.startsWith(".tmp-"))).toEqual([]);
    for (const letter of ["a", "b", "c"]) {
      expect(directory.openEntry(entryName(letter))).toBeUndefined();
    }
    // After a restart on what a crash left, nothing is found either.
    const restarted = openDirectory(dir, new SyncBatch(held.sync, 20));
    expect(restarted.entries).toBe(0);
    expect(restarted.openEntry(entryName("a"))).toBeUndefined();

    held.finish();
    await Promise.all(committed);
    expect(readdirSync(dir).sort()).toEqual(["a", "b", "c"].map(entryName));
    expect(directory.entries).toBe(3);
  });

  it("drops an entry whose sync failed, leaving no file", async () => {
    const dir = tempDir("storefront-sync-");
    const held = heldSync();
    const directory = openDirectory(dir, new SyncBatch(held.sync, 20));
    const committed = finishEntry(directory, entryName("d"));
    await waitFor(() => held.calls.length === 1, "the sync");
    held.fail();
    await committed;
    expect(readdirSync(dir)).toEqual([]);
    expect(directory.openEntry(entryName("d"))).toBeUndefined();
  });

  it("syncs with fdatasync by default", async () => {
    const dir = tempDir("storefront-sync-");
    const directory = openDirectory(dir, new SyncBatch());
    await finishEntry(directory, entryName("e"));
    expect(readdirSync(dir)).toEqual([entryName("e")]);
  });
});
