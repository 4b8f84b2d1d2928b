// Readiness, stopping and watchdog notifications, received on a notify socket that plays
// systemd's part (sd_notify(3)).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { curl } from "./support/curl.ts";
import { openNotifySocket, type NotifySocket } from "./support/fake-systemd.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore } from "./support/nix.ts";
import {
  childPids,
  listeningPort,
  spawnServe,
  stopWith,
  type ServeProcess,
} from "./support/serve-process.ts";

const FIXTURE = new URL("fixtures/store.nix", import.meta.url).pathname;

describe.skipIf(!hasNix)("systemd notification", () => {
  let store: TestStore;
  let dir: string;
  const cleanups: (() => void)[] = [];

  beforeAll(() => {
    store = makeTestStore();
    nixBuild(store, FIXTURE, ["topFile"]);
    dir = mkdtempSync(join(tmpdir(), "storefront-notify-"));
  });
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  afterAll(() => {
    store.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (workers: number, notify: NotifySocket, env: NodeJS.ProcessEnv): ServeProcess => {
    const server = spawnServe(
      dir,
      `bind = "127.0.0.1:0"\nworkers = ${workers}\nreal_nix_store = "${store.realStoreDir}"\n`,
      { env: { NOTIFY_SOCKET: notify.address, ...env } },
    );
    cleanups.push(() => {
      server.kill();
    });
    return server;
  };

  it.each([
    ["a socket path", 1, (): string => join(dir, "notify-1.sock")],
    ["an abstract socket", 1, (): string => `@storefront-test-${process.pid}`],
    ["a socket path", 2, (): string => join(dir, "notify-2.sock")],
  ])(
    "sends READY=1 when listening, WATCHDOG=1 and STOPPING=1 (%s, workers = %i)",
    async (_, workers, address) => {
      const notify = await openNotifySocket(address());
      cleanups.push(() => {
        notify.close();
      });
      // A watchdog of 0.4 s: a ping every 0.2 s.
      const server = start(workers, notify, { WATCHDOG_USEC: "400000" });
      await notify.waitFor("READY=1");
      // Ready means ready: a request made now is answered.
      const port = await listeningPort(server);
      expect((await curl([`http://127.0.0.1:${port}/nix-cache-info`])).body).toContain("StoreDir:");
      await notify.waitFor("WATCHDOG=1");
      if (workers > 1) {
        // Only the primary speaks to systemd: the workers do not inherit the socket's address.
        for (const pid of await childPids(server.child.pid ?? 0)) {
          expect(readFileSync(`/proc/${pid}/environ`, "utf8")).not.toContain("NOTIFY_SOCKET=");
        }
      }
      expect(await stopWith(server, "SIGTERM")).toBe(0);
      expect(notify.messages).toContain("STOPPING=1");
      const meaningful = notify.messages.filter((m) => m !== "" && m !== "BARRIER=1");
      expect(meaningful[0]).toBe("READY=1");
      expect(meaningful.at(-1)).toBe("STOPPING=1");
    },
  );
});
