// `workers = N`: N processes serving requests on one shared listening socket (node:cluster).
//
// The primary does no request work. node:cluster's primary opens each listening socket once, the
// first time a worker asks for it, and hands accepted connections to the workers in turn (its
// round-robin scheduling, the default on Linux). That holds for every kind of target: a port
// (port 0 is chosen once, so all workers share the same port), a unix socket path, and a socket
// inherited from systemd: a worker's `listen({ fd: 3 })` is carried out by the primary on ITS
// descriptor 3, which is the inherited socket (a worker's own fd 3 is its IPC channel).
//
// Startup: the primary checks config, keys, TLS files and the database before forking; if a
// worker still fails to start (the port is in use, say), the whole process ends with exit 1 and
// the worker's one-line message, rather than restarting it in a loop. A worker that dies later is
// restarted after a backoff. SIGTERM/SIGINT are passed to the workers, which finish their
// downloads; the primary exits 0 once they have all exited cleanly. SIGHUP reloads: the primary
// checks the key, token and TLS files, then orders each worker to load them (a worker ignores a
// SIGHUP of its own, which a signal to the whole process group would bring as well).

import cluster, { type Worker } from "node:cluster";
import { StartupError } from "../errors.ts";
import type { Config } from "../config/config.ts";
import type { ListenTarget } from "../config/listen-address.ts";
import type { Logger } from "../log.ts";
import {
  isWorkerMessage,
  type FromWorker,
  type PrimaryMessageHandlers,
  type ToWorker,
} from "./cluster-messages.ts";
import {
  applyReload,
  ignoreReloadSignalInWorker,
  type Reloadable,
  type ReloadSignal,
} from "./reload.ts";
import { onShutdownSignal } from "./shutdown.ts";

export interface PrimaryOptions {
  readonly config: Config;
  readonly targets: readonly ListenTarget[];
  readonly log: Logger;
  /** Called once, when every worker listens, with where they listen. */
  readonly onReady: (addresses: readonly string[]) => void;
  /** Called once, when shutdown begins. */
  readonly onStopping: () => void;
  /** Where SIGHUP is handled. */
  readonly reloadSignal: ReloadSignal;
  /**
   * On SIGHUP: reads the config again and checks its key, token and TLS files; returns the config
   * to run with, which the workers are then told to reload, or undefined to change nothing.
   */
  readonly reload: (running: Config) => Config | undefined;
  readonly messageHandlers?: PrimaryMessageHandlers;
}

/** A worker that ran at least this long before dying is restarted without delay at first. */
const STABLE_WORKER_MS = 30_000;
const FIRST_RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;
/** Time the workers get beyond `shutdown_timeout` before they are killed. */
const SHUTDOWN_MARGIN_MS = 5_000;

function sendToWorker(worker: Worker, message: ToWorker): void {
  if (worker.isConnected()) worker.send(message);
}

/** Runs the primary; resolves with the exit code once all workers have exited. */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const { targets, log } = options;
  // Replaced by a reload, so that a worker started later gets the reloaded keys too.
  let config = options.config;
  const handlers = options.messageHandlers ?? {};
  const listening = new Set<Worker>();
  const startedAt = new Map<Worker, number>();
  const fatalMessages = new Map<Worker, string>();
  let ready = false;
  let shuttingDown = false;
  let cleanExits = true;
  let crashesInARow = 0;
  const pendingRestarts = new Set<NodeJS.Timeout>();

  // Forked and not yet exited. Not `cluster.workers`: node:cluster removes a worker from it only
  // once both its exit and its IPC disconnect have been seen, in either order.
  const alive = new Set<Worker>();

  // Workers inherit the primary's flags and environment, with the memory settings that
  // src/bin.js gave it.
  const fork = (): void => {
    const worker = cluster.fork();
    alive.add(worker);
    startedAt.set(worker, Date.now());
  };

  return new Promise((resolve, reject) => {
    const liveWorkers = (): Worker[] => [...alive];

    const shutdown = (): void => {
      if (shuttingDown) return;
      shuttingDown = true;
      for (const timer of pendingRestarts) clearTimeout(timer);
      options.onStopping();
      const workers = liveWorkers();
      if (workers.length === 0) {
        resolve(0);
        return;
      }
      for (const worker of workers) sendToWorker(worker, { type: "storefront:shutdown" });
      setTimeout(
        () => {
          for (const worker of liveWorkers()) {
            log.warn("worker did not stop in time; killing it", { pid: worker.process.pid });
            worker.process.kill("SIGKILL");
          }
        },
        config.shutdown_timeout * 1000 + SHUTDOWN_MARGIN_MS,
      ).unref();
    };

    const fail = (message: string): void => {
      shuttingDown = true;
      for (const timer of pendingRestarts) clearTimeout(timer);
      for (const worker of liveWorkers()) worker.process.kill("SIGTERM");
      reject(new StartupError(message));
    };

    cluster.on("message", (worker, message: unknown) => {
      if (!isWorkerMessage(message)) return;
      const internal = message as FromWorker;
      switch (internal.type) {
        case "storefront:hello":
          sendToWorker(worker, { type: "storefront:start", config, targets });
          return;
        case "storefront:fatal":
          fatalMessages.set(worker, internal.message);
          return;
        case "storefront:listening":
          listening.add(worker);
          if (!ready && listening.size === config.workers) {
            ready = true;
            options.onReady(internal.addresses);
          }
          return;
      }
      handlers[message.type]?.(message, worker);
    });

    cluster.on("exit", (worker, code, signal) => {
      const pid = worker.process.pid;
      alive.delete(worker);
      const wasListening = listening.delete(worker);
      const lived = Date.now() - (startedAt.get(worker) ?? Date.now());
      startedAt.delete(worker);
      if (shuttingDown) {
        if (code !== 0) cleanExits = false;
        if (liveWorkers().length === 0) resolve(cleanExits ? 0 : 1);
        return;
      }
      if (!wasListening) {
        fail(
          fatalMessages.get(worker) ??
            `a worker failed to start (exit code ${String(code)}, signal ${signal})`,
        );
        return;
      }
      if (code === 0) {
        // A worker only exits cleanly when told to stop, e.g. by a signal sent to it alone.
        log.info("a worker stopped; shutting down", { pid });
        shutdown();
        return;
      }
      crashesInARow = lived >= STABLE_WORKER_MS ? 0 : crashesInARow + 1;
      const delay =
        crashesInARow === 0
          ? 0
          : Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** (crashesInARow - 1));
      log.warn("worker died; starting another", { pid, code, signal, delay_ms: delay });
      const timer = setTimeout(() => {
        pendingRestarts.delete(timer);
        fork();
      }, delay);
      pendingRestarts.add(timer);
    });

    onShutdownSignal((signal) => {
      log.info("shutting down", { signal });
      shutdown();
    });

    options.reloadSignal.handle(() => {
      if (shuttingDown) return;
      const next = options.reload(config);
      if (next === undefined) return;
      config = next;
      // A worker still starting gets `config` with its start order or, if that went out
      // before, this order once it is up.
      for (const worker of liveWorkers())
        sendToWorker(worker, { type: "storefront:reload", config });
    });

    for (let i = 0; i < config.workers; i++) fork();
  });
}

/** What a worker runs once the primary has told it the config and where to listen. */
export interface WorkerServing extends Reloadable {
  /** Where it listens, for people to read, one per target. */
  readonly addresses: readonly string[];
  stop(): Promise<void>;
}

/** Starts serving in a worker; given to `runWorker` by what wires the daemon (src/daemon/). */
export type StartWorkerServing = (
  config: Config,
  targets: readonly ListenTarget[],
) => Promise<WorkerServing>;

/**
 * Runs a worker: waits for its orders from the primary, serves with `startServing`, and stops
 * when told to.
 */
export function runWorker(log: Logger, startServing: StartWorkerServing): Promise<number> {
  return new Promise((resolve) => {
    const send = (message: FromWorker, then?: () => void): void => {
      process.send?.(message, undefined, {}, () => then?.());
    };
    const finish = (code: number): void => {
      // Leaving the IPC channel open would keep this process alive; `cluster.worker.disconnect`
      // (unlike `process.disconnect`) tells the primary that this exit is intended.
      cluster.worker?.disconnect();
      resolve(code);
    };

    let serving: WorkerServing | undefined;
    let stopRequested = false;
    // A reload ordered while this worker was starting, applied once it is up.
    let pendingReload: Config | undefined;
    const reload = (config: Config): void => {
      if (serving === undefined) pendingReload = config;
      else applyReload(serving, config, log);
    };
    const stop = (): void => {
      if (stopRequested) return;
      stopRequested = true;
      // Before the servers are up, `start` stops them as soon as they are.
      if (serving !== undefined)
        void serving.stop().then(() => {
          finish(0);
        });
    };

    const start = (config: Config, targets: readonly ListenTarget[]): void => {
      // The primary watches the store for pins and store metrics; workers keep their own
      // narinfo caches right and report their metrics to it.
      startServing(config, targets).then(
        (started) => {
          serving = started;
          if (pendingReload !== undefined) reload(pendingReload);
          if (stopRequested) {
            void started.stop().then(() => {
              finish(0);
            });
          } else {
            send({ type: "storefront:listening", addresses: started.addresses });
          }
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          send({ type: "storefront:fatal", message }, () => {
            finish(1);
          });
        },
      );
    };

    process.on("message", (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      // Other modules talk over the same channel (metrics: prom-client's and ours), so only
      // this module's own orders count here.
      if (message.type === "storefront:start") {
        const order = message as Extract<ToWorker, { type: "storefront:start" }>;
        start(order.config, order.targets);
      } else if (message.type === "storefront:reload") {
        reload((message as Extract<ToWorker, { type: "storefront:reload" }>).config);
      } else if (message.type === "storefront:shutdown") {
        stop();
      }
    });
    onShutdownSignal(stop);
    ignoreReloadSignalInWorker(log);
    send({ type: "storefront:hello" });
  });
}
