// `threads = N`: the main thread serves, and N - 1 worker threads (node:worker_threads) serve
// beside it in the same process, each with an HTTP server of its own listening on the same TCP
// address with SO_REUSEPORT, so that the kernel spreads the connections over them. They share
// the process's code pages and the malloc heap; each has its own V8 heap (~25-30 MiB with the
// serving modules), where a cluster worker is a process of ~80 MiB.
//
// The main thread does everything that must happen once: the store monitor, pinning, pruning,
// systemd's notifications, signals (SIGHUP is checked by the main thread, which then has every
// thread reload; SIGTERM stops them all, each draining its downloads). /metrics, on whichever
// thread it is asked, sums every thread's registry (see metrics/thread-metrics.ts).
//
// Only TCP addresses can be shared this way: a unix socket or a socket that systemd passed is
// one descriptor, which the first thread to close it (a thread that dies, or one that stops
// before the others) would close under the others. Those are served by the main thread alone.
//
// A thread that fails to start stops the start with its one-line message; a thread that dies
// later is replaced after a growing delay, as a cluster worker is.

import { getCompileCacheDir } from "node:module";
import { Worker } from "node:worker_threads";
import type { Config } from "../config/config.ts";
import type { ListenTarget } from "../config/listen-address.ts";
import { StartupError } from "../errors.ts";
import type { Logger } from "../log.ts";
import {
  isFromThread,
  type FromThread,
  type RegistryJson,
  type ThreadStart,
  type ToThread,
} from "./thread-messages.ts";

/** A thread that ran at least this long before dying is replaced without delay at first. */
const STABLE_THREAD_MS = 30_000;
const FIRST_RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;
/** Time the threads get beyond `shutdown_timeout` before they are terminated. */
const SHUTDOWN_MARGIN_MS = 5_000;
/** A thread that does not send its registry in this time is left out of a scrape. */
const METRICS_TIMEOUT_MS = 5_000;

/**
 * `config` for one of `threads` serving threads: `max_streams` and `max_connections` keep
 * meaning the whole process's, each thread taking its share (the kernel spreads connections
 * evenly over the threads' sockets).
 */
export function threadShare(config: Config, threads: number): Config {
  return Object.freeze({
    ...config,
    max_streams: Math.ceil(config.max_streams / threads),
    max_connections: Math.ceil(config.max_connections / threads),
  });
}

export interface ServingThreadsOptions {
  /** The module a thread runs (src/thread.js, which calls `runServingThread`). */
  readonly entry: URL;
  /** Threads besides the main one. */
  readonly count: number;
  readonly config: Config;
  /** TCP targets with their ports chosen, which the main thread listens on with SO_REUSEPORT. */
  readonly targets: readonly ListenTarget[];
  readonly log: Logger;
  /** The whole process's /metrics text, for a thread that was asked for it. */
  readonly metricsText: () => Promise<string>;
}

interface Running {
  readonly worker: Worker;
  readonly startedAt: number;
  listening: boolean;
  fatal: string | undefined;
  /** Set when the main thread told it to stop, or terminated it. */
  stopping: boolean;
}

export class ServingThreads {
  readonly #options: ServingThreadsOptions;
  #config: Config;
  readonly #running = new Set<Running>();
  readonly #restarts = new Set<NodeJS.Timeout>();
  #crashesInARow = 0;
  #stopping = false;
  #nextMetricsId = 0;
  readonly #metricsWaiting = new Map<number, (json: RegistryJson) => void>();
  #startFailed: ((error: Error) => void) | undefined;
  #allListening: (() => void) | undefined;

  constructor(options: ServingThreadsOptions) {
    this.#options = options;
    this.#config = options.config;
  }

  /** Starts the threads; resolves once every one listens, rejects with a StartupError if one fails. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#allListening = resolve;
      this.#startFailed = reject;
      for (let i = 0; i < this.#options.count; i++) this.#spawn();
    });
  }

  /** Has every thread load the keys, tokens and TLS files of `config` (checked by the caller). */
  reload(config: Config): void {
    this.#config = config;
    for (const thread of this.#running) this.#send(thread, { type: "reload", config });
  }

  /** The registries of the threads that answer within a few seconds. */
  async registries(): Promise<RegistryJson[]> {
    const asked = [...this.#running].filter((thread) => thread.listening && !thread.stopping);
    const answers = await Promise.all(
      asked.map(
        (thread) =>
          new Promise<RegistryJson | undefined>((resolve) => {
            const id = this.#nextMetricsId++;
            const timer = setTimeout(() => {
              this.#metricsWaiting.delete(id);
              resolve(undefined);
            }, METRICS_TIMEOUT_MS);
            this.#metricsWaiting.set(id, (json) => {
              clearTimeout(timer);
              resolve(json);
            });
            this.#send(thread, { type: "metrics-request", id });
          }),
      ),
    );
    return answers.filter((json) => json !== undefined);
  }

  /** Tells every thread to stop (each drains its downloads); resolves once all have exited. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const timer of this.#restarts) clearTimeout(timer);
    const exited = [...this.#running].map(
      (thread) =>
        new Promise<void>((resolve) => {
          thread.worker.once("exit", () => {
            resolve();
          });
        }),
    );
    for (const thread of this.#running) {
      thread.stopping = true;
      this.#send(thread, { type: "shutdown" });
    }
    const deadline = setTimeout(
      () => {
        for (const thread of this.#running) {
          this.#options.log.warn("a serving thread did not stop in time; ending it", {
            thread: thread.worker.threadId,
          });
          void thread.worker.terminate();
        }
      },
      this.#config.shutdown_timeout * 1000 + SHUTDOWN_MARGIN_MS,
    );
    deadline.unref();
    await Promise.all(exited);
    clearTimeout(deadline);
  }

  #send(thread: Running, message: ToThread): void {
    thread.worker.postMessage(message);
  }

  #spawn(): void {
    const { log } = this.#options;
    const start: ThreadStart = {
      config: threadShare(this.#config, this.#options.count + 1),
      targets: this.#options.targets,
      compileCache: getCompileCacheDir(),
    };
    const worker = new Worker(this.#options.entry, { workerData: start });
    const thread: Running = {
      worker,
      startedAt: Date.now(),
      listening: false,
      fatal: undefined,
      stopping: false,
    };
    this.#running.add(thread);
    worker.on("message", (message: unknown) => {
      if (isFromThread(message)) this.#onMessage(thread, message);
    });
    worker.on("error", (error: unknown) => {
      // An uncaught exception in the thread; "exit" follows.
      const detail = error instanceof Error ? error.message : String(error);
      log.error("a serving thread failed", { thread: worker.threadId, detail });
      thread.fatal ??= detail;
    });
    worker.on("exit", (code) => {
      this.#onExit(thread, code);
    });
  }

  #onMessage(thread: Running, message: FromThread): void {
    switch (message.type) {
      case "listening":
        thread.listening = true;
        // A reload that came while it started went out with `reload` already, or with its start.
        if ([...this.#running].every((t) => t.listening)) {
          this.#allListening?.();
          this.#allListening = undefined;
          this.#startFailed = undefined;
        }
        return;
      case "fatal":
        thread.fatal = message.message;
        return;
      case "metrics":
        this.#metricsWaiting.get(message.id)?.(message.json);
        this.#metricsWaiting.delete(message.id);
        return;
      case "all-metrics-request":
        this.#options.metricsText().then(
          (text) => {
            this.#send(thread, { type: "all-metrics", id: message.id, text });
          },
          (error: unknown) => {
            const detail = error instanceof Error ? error.message : String(error);
            this.#send(thread, { type: "all-metrics", id: message.id, error: detail });
          },
        );
        return;
    }
  }

  #onExit(thread: Running, code: number): void {
    const { log } = this.#options;
    this.#running.delete(thread);
    if (this.#stopping || thread.stopping) return;
    if (!thread.listening) {
      const message =
        thread.fatal ?? `a serving thread failed to start (exit code ${String(code)})`;
      if (this.#startFailed !== undefined) {
        // Still starting: the whole start fails, with the thread's own message.
        this.#startFailed(new StartupError(message));
        this.#startFailed = undefined;
        this.#allListening = undefined;
        void this.stop();
        return;
      }
    }
    const lived = Date.now() - thread.startedAt;
    this.#crashesInARow = lived >= STABLE_THREAD_MS ? 0 : this.#crashesInARow + 1;
    const delay =
      this.#crashesInARow === 0
        ? 0
        : Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** (this.#crashesInARow - 1));
    log.warn("a serving thread died; starting another", {
      thread: thread.worker.threadId,
      code,
      delay_ms: delay,
    });
    const timer = setTimeout(() => {
      this.#restarts.delete(timer);
      if (!this.#stopping) this.#spawn();
    }, delay);
    this.#restarts.add(timer);
  }
}
