// Running under systemd: sockets passed by socket activation, and readiness, stopping and
// watchdog notifications to $NOTIFY_SOCKET.
//
// Node cannot send on a unix datagram socket (node:dgram is UDP only), and the npm packages that
// can (unix-dgram, sd-notify) are native addons compiled at install time. storefront runs the
// `systemd-notify` tool instead: it ships with systemd itself, so it is there whenever systemd
// set NOTIFY_SOCKET; it handles abstract (`@`) sockets; and it waits until systemd has processed
// each message (its barrier), so a message is never lost because its short-lived sender exited.
// It sends from its own PID, so the unit needs NotifyAccess=all (see the README).

import { spawn } from "node:child_process";
import { fstatSync } from "node:fs";
import { ConfigError } from "../errors.ts";
import { activatedFds, watchdogIntervalMs } from "./systemd-env.ts";
import type { Logger } from "../log.ts";

/**
 * The sockets systemd passed to this process, checked to be sockets. The variables are removed
 * from the environment, so that processes we start do not take them for their own.
 */
export function takeActivatedSockets(env: NodeJS.ProcessEnv = process.env): readonly number[] {
  const fds = activatedFds(env, process.pid);
  delete env["LISTEN_PID"];
  delete env["LISTEN_FDS"];
  delete env["LISTEN_FDNAMES"];
  if (typeof fds === "string") throw new ConfigError(`socket activation: ${fds}`);
  for (const fd of fds) {
    let isSocket = false;
    try {
      isSocket = fstatSync(fd).isSocket();
    } catch {
      // A closed descriptor: reported below.
    }
    if (!isSocket) {
      throw new ConfigError(`socket activation: file descriptor ${fd} is not an open socket`);
    }
  }
  return fds;
}

export interface SystemdNotifier {
  /** Sends READY=1 and starts the watchdog pings, if systemd asked for them. */
  ready(): void;
  /** Sends STOPPING=1 and stops the watchdog pings. */
  stopping(): void;
  /** Resolves when every message sent so far has been delivered (or has failed). */
  flushed(): Promise<void>;
}

/**
 * A notifier for the service manager named by $NOTIFY_SOCKET; without it, every call does
 * nothing. The notify variables are removed from the environment: only this process speaks to
 * systemd, never a worker.
 */
export function createSystemdNotifier(
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): SystemdNotifier {
  const socket = env["NOTIFY_SOCKET"];
  const watchdogMs = watchdogIntervalMs(env, process.pid);
  delete env["NOTIFY_SOCKET"];
  delete env["WATCHDOG_USEC"];
  delete env["WATCHDOG_PID"];
  if (socket === undefined || socket === "") {
    return { ready: () => undefined, stopping: () => undefined, flushed: () => Promise.resolve() };
  }

  // Messages go out one after another, so that systemd sees them in the order they were sent.
  let queue = Promise.resolve();
  let warnedMissing = false;
  const send = (assignment: string): void => {
    queue = queue.then(() =>
      runSystemdNotify(socket, assignment).then((problem) => {
        if (problem === undefined) return;
        if (problem === "missing") {
          if (!warnedMissing) log.warn("NOTIFY_SOCKET is set but systemd-notify is not on PATH");
          warnedMissing = true;
        } else {
          log.warn("systemd-notify failed", { message: assignment, problem });
        }
      }),
    );
  };

  let watchdog: NodeJS.Timeout | undefined;
  return {
    ready: () => {
      send("READY=1");
      if (watchdogMs !== undefined && watchdog === undefined) {
        watchdog = setInterval(() => {
          send("WATCHDOG=1");
        }, watchdogMs);
        watchdog.unref();
      }
    },
    stopping: () => {
      clearInterval(watchdog);
      send("STOPPING=1");
    },
    flushed: () => queue,
  };
}

/** Runs `systemd-notify ASSIGNMENT`; resolves with what went wrong, or undefined. */
function runSystemdNotify(socket: string, assignment: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn("systemd-notify", [assignment], {
      env: { ...process.env, NOTIFY_SOCKET: socket },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
    child.once("error", (error: NodeJS.ErrnoException) => {
      resolve(error.code === "ENOENT" ? "missing" : (error.code ?? error.message));
    });
    child.once("close", (code) => {
      resolve(code === 0 ? undefined : stderr.trim() || `exit code ${String(code)}`);
    });
  });
}
