// Readiness, stopping and watchdog notifications, received on a notify socket that plays
// systemd's part (sd_notify(3)).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { curl } from "../support/curl.ts";
import { openNotifySocket, type NotifySocket } from "../support/fake-systemd.ts";
import { builtStore, hasNix, STORE_NIX } from "../support/nix.ts";
import {
  childPids,
  listeningPort,
  stopWith,
  type ServerProcess,
  serveProcesses,
} from "../support/server.ts";

describe.skipIf(!hasNix)("systemd notification", () => {
  const built = builtStore(STORE_NIX, ["topFile"]);
  const processes = serveProcesses("storefront-notify-");

  const start = (workers: number, notify: NotifySocket, env: NodeJS.ProcessEnv): ServerProcess =>
    processes.spawn(`bind = "127.0.0.1:0"\nworkers = ${workers}\n${built.store.configLine}`, {
      env: { NOTIFY_SOCKET: notify.address, ...env },
    });

  it.each([
    ["a socket path", 1, (): string => join(processes.dir, "notify-1.sock")],
    ["an abstract socket", 1, (): string => `@storefront-test-${process.pid}`],
    ["a socket path", 2, (): string => join(processes.dir, "notify-2.sock")],
  ])(
    "sends READY=1 when listening, WATCHDOG=1 and STOPPING=1 (%s, workers = %i)",
    async (_, workers, address) => {
      const notify = await openNotifySocket(address());
      processes.afterTest(() => {
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
