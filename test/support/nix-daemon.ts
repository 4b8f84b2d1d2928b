// A real `nix-daemon` on a throw-away store, with a socket of its own (root only: the daemon
// runs as the user that starts it, and only root may make a store elsewhere than /nix).

import { spawn } from "node:child_process";
import { once } from "node:events";
import { createConnection } from "node:net";
import { join } from "node:path";
import { makeTestStore, type TestStore } from "./nix.ts";
import { waitFor } from "./wait.ts";

export interface TestDaemon {
  readonly store: TestStore;
  readonly socketPath: string;
  /** What the daemon wrote to stderr so far ("accepted connection ...", errors). */
  stderr(): string;
  /** Stops the daemon and removes its store. */
  stop(): Promise<void>;
}

/** Starts the daemon and waits until its socket accepts connections. */
export async function startNixDaemon(extraArgs: readonly string[] = []): Promise<TestDaemon> {
  const store = makeTestStore("storefront-daemon-");
  const socketPath = join(store.root, "socket");
  const child = spawn("nix-daemon", ["--store", store.root, ...extraArgs], {
    env: { ...process.env, NIX_DAEMON_SOCKET_PATH: socketPath },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const exited = once(child, "exit");
  // The socket file appears when it is bound, a moment before it listens: wait for a connection.
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        if (child.exitCode !== null) throw new Error(`nix-daemon exited: ${stderr}`);
        const socket = createConnection(socketPath);
        socket.once("connect", () => {
          socket.destroy();
          resolve(true);
        });
        socket.once("error", () => {
          resolve(false);
        });
      }),
    "nix-daemon to listen",
  );
  return {
    store,
    socketPath,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      store.remove();
    },
  };
}
