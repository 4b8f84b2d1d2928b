// A client of the Nix daemon: a small pool of connections over its unix socket.
//
// Why a pool and not one queued connection: the upload routes take many pushes at once (Nix
// uploads over up to 25 connections), and one AddToStoreNar of a large NAR would hold up every
// other operation behind it, down to a quick validity check. The daemon forks a process per
// connection and imports in parallel, so a few connections let imports overlap; the cap keeps
// the daemon's processes (and their contention for the database lock) bounded. Each connection
// still serves its operations one after another, as the protocol requires.

import type { DrvOutput, Realisation } from "../core/nix/realisation.ts";
import { DaemonConnection, type ConnectionOptions } from "./connection.ts";
import { NixDaemonError } from "./errors.ts";
import type { HandshakeResult } from "./handshake.ts";
import type { NarImport } from "./operations/add-to-store-nar.ts";
import type { GcRequest, GcResult } from "./operations/gc.ts";
import type { DaemonPathInfo } from "./operations/paths.ts";
import type { BuildTraceEntry } from "./operations/realisations.ts";
import type { DataSource } from "./send-data.ts";
import { DaemonSession } from "./session.ts";

export interface NixDaemonClientOptions extends ConnectionOptions {
  /** Connections open at most; operations beyond wait their turn. Default 4. */
  readonly maxConnections?: number;
  /** ROOTED_IDLE_MS and ROOTED_LIFETIME_MS, other than for tests. */
  readonly rootedIdleMs?: number;
  readonly rootedLifetimeMs?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 4;

/** How long to wait before a second try at a handshake the daemon cut. */
const HANDSHAKE_RETRY_MS = 200;

/**
 * A connection that holds temporary roots (every path imported over it) is reused only while
 * operations keep coming: it is closed once idle this long, and never reused once its first
 * root is this old. A new connection costs the daemon a worker process and a store to open,
 * and each worker's exit checkpoints the store's database: a push of 303 paths over a
 * connection each made 768 `fdatasync` calls in the daemon, 7 over reused ones (strace), each
 * of which can wait on the disk. Yet the roots must not keep a path alive for long after its
 * import: the garbage collector and the budget would find nothing to delete.
 */
export const ROOTED_IDLE_MS = 1_000;
export const ROOTED_LIFETIME_MS = 30_000;

export class NixDaemonClient {
  readonly #options: NixDaemonClientOptions;
  readonly #maxConnections: number;
  readonly #idle: DaemonConnection[] = [];
  readonly #waiting: (() => void)[] = [];
  /** When each connection holding temporary roots got its first, and its idle timer. */
  readonly #rootedSince = new Map<DaemonConnection, number>();
  readonly #idleTimers = new Map<DaemonConnection, NodeJS.Timeout>();
  #open = 0;
  #closed = false;

  constructor(options: NixDaemonClientOptions) {
    const max = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxConnections must be a whole number of at least 1, not ${max}`);
    }
    const timeout = options.timeoutMs;
    if (timeout !== undefined && (!Number.isFinite(timeout) || timeout <= 0)) {
      throw new RangeError(`timeoutMs must be a number of milliseconds above 0, not ${timeout}`);
    }
    this.#options = options;
    this.#maxConnections = max;
  }

  /**
   * Runs `work` with a connection of its own (several operations in order, temporary roots that
   * last at least until it returns). The connection goes back to the pool afterwards, unless it
   * broke; one that holds temporary roots is closed soon (ROOTED_IDLE_MS, ROOTED_LIFETIME_MS).
   */
  session<T>(work: (session: DaemonSession) => Promise<T>): Promise<T> {
    return this.#session(work, false);
  }

  /**
   * `work` that only reads, retried once on a new connection when an idle one turns out to be
   * closed: the daemon drops its connections when it restarts, which we learn only on use.
   */
  #query<T>(work: (session: DaemonSession) => Promise<T>): Promise<T> {
    return this.#session(work, true);
  }

  async #session<T>(work: (session: DaemonSession) => Promise<T>, retry: boolean): Promise<T> {
    const { connection, reused } = await this.#acquire();
    const session = new DaemonSession(connection);
    try {
      return await work(session);
    } catch (error) {
      if (!(retry && reused && error instanceof NixDaemonError && error.kind === "closed")) {
        throw error;
      }
    } finally {
      this.#release(connection, session.holdsTempRoots);
    }
    // The others that waited idle are as likely to be stale.
    this.closeIdle();
    return this.#session(work, false);
  }

  /** What the handshake negotiated (opens a connection if none is). */
  info(): Promise<HandshakeResult> {
    return this.#query((session) => Promise.resolve(session.info));
  }

  isValidPath(storePath: string): Promise<boolean> {
    return this.#query((session) => session.isValidPath(storePath));
  }

  queryPathInfo(storePath: string): Promise<DaemonPathInfo | undefined> {
    return this.#query((session) => session.queryPathInfo(storePath));
  }

  /** Streams `nar` to the daemon as `info`'s path; references must be valid first. */
  addToStoreNar(info: NarImport, nar: DataSource): Promise<void> {
    return this.session((session) => session.addToStoreNar(info, nar));
  }

  addBuildLog(drvPath: string, log: DataSource): Promise<void> {
    return this.session((session) => session.addBuildLog(drvPath, log));
  }

  realisationForm(): Promise<"drv-hash" | "drv-path" | "none"> {
    return this.#query((session) => Promise.resolve(session.realisationForm));
  }

  registerDrvOutput(realisation: Realisation): Promise<void> {
    return this.session((session) => session.registerDrvOutput(realisation));
  }

  queryRealisation(id: DrvOutput): Promise<Realisation | undefined> {
    return this.#query((session) => session.queryRealisation(id));
  }

  registerBuildTrace(entry: BuildTraceEntry): Promise<void> {
    return this.session((session) => session.registerBuildTrace(entry));
  }

  queryBuildTrace(drvPath: string, outputName: string): Promise<BuildTraceEntry | undefined> {
    return this.#query((session) => session.queryBuildTrace(drvPath, outputName));
  }

  /**
   * Collects garbage on a connection of its own. The daemon keeps every path added over a
   * connection as a temporary root of that connection (so that a collection cannot take a path
   * between its import and its first root), until the connection closes. Idle connections are
   * closed first so that our own past imports do not keep paths alive; imports under way do.
   * A daemon worker may take a moment to exit after its connection closes: a path added just
   * before may still be reported alive.
   */
  collectGarbage(request: GcRequest): Promise<GcResult> {
    this.closeIdle();
    return this.session((session) => session.collectGarbage(request));
  }

  addIndirectRoot(link: string): Promise<void> {
    return this.session((session) => session.addIndirectRoot(link));
  }

  addPermRoot(storePath: string, gcRoot: string): Promise<string> {
    return this.session((session) => session.addPermRoot(storePath, gcRoot));
  }

  /** Closes the connections that no operation uses now (and the temporary roots they hold). */
  closeIdle(): void {
    for (const connection of this.#idle.splice(0)) this.#drop(connection);
    this.#wakeOne();
  }

  /** Closes idle connections now and busy ones as they finish; later calls fail. */
  close(): void {
    this.#closed = true;
    for (const connection of this.#idle.splice(0)) {
      this.#forget(connection);
      connection.close();
    }
    this.#open = 0;
    for (const wake of this.#waiting.splice(0)) wake();
  }

  async #acquire(): Promise<{ connection: DaemonConnection; reused: boolean }> {
    for (;;) {
      if (this.#closed) throw new NixDaemonError("closed", "the Nix daemon client was closed");
      const idle = this.#idle.pop();
      if (idle !== undefined) {
        // The daemon may have closed it while it waited (a restart of nix-daemon).
        if (idle.broken === undefined && !this.#tooOld(idle)) {
          clearTimeout(this.#idleTimers.get(idle));
          this.#idleTimers.delete(idle);
          return { connection: idle, reused: true };
        }
        this.#drop(idle);
        continue;
      }
      if (this.#open < this.#maxConnections) {
        this.#open++;
        try {
          return { connection: await this.#openConnection(), reused: false };
        } catch (error) {
          this.#open--;
          this.#wakeOne();
          throw error;
        }
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  /**
   * A new connection; once more, a moment later, when the daemon closes it during the
   * handshake: a daemon that is starting, restarting or short of CPU may drop a connection it
   * has just accepted.
   */
  async #openConnection(): Promise<DaemonConnection> {
    try {
      return await DaemonConnection.open(this.#options);
    } catch (error) {
      if (!(error instanceof NixDaemonError && error.kind === "closed")) throw error;
      await new Promise((resolve) => setTimeout(resolve, HANDSHAKE_RETRY_MS));
      return DaemonConnection.open(this.#options);
    }
  }

  #release(connection: DaemonConnection, holdsTempRoots: boolean): void {
    if (holdsTempRoots && !this.#rootedSince.has(connection)) {
      this.#rootedSince.set(connection, Date.now());
    }
    if (connection.broken === undefined && !this.#closed && !this.#tooOld(connection)) {
      this.#idle.push(connection);
      if (this.#rootedSince.has(connection)) this.#closeWhenIdle(connection);
    } else {
      this.#drop(connection);
    }
    this.#wakeOne();
  }

  /** Whether `connection` got its first temporary root ROOTED_LIFETIME_MS ago or longer. */
  #tooOld(connection: DaemonConnection): boolean {
    const since = this.#rootedSince.get(connection);
    const lifetime = this.#options.rootedLifetimeMs ?? ROOTED_LIFETIME_MS;
    return since !== undefined && Date.now() - since >= lifetime;
  }

  /** Closes `connection` if it is still idle after ROOTED_IDLE_MS. */
  #closeWhenIdle(connection: DaemonConnection): void {
    const timer = setTimeout(() => {
      this.#idleTimers.delete(connection);
      const index = this.#idle.indexOf(connection);
      if (index === -1) return;
      this.#idle.splice(index, 1);
      this.#drop(connection);
      this.#wakeOne();
    }, this.#options.rootedIdleMs ?? ROOTED_IDLE_MS);
    timer.unref();
    this.#idleTimers.set(connection, timer);
  }

  /** Closes `connection` (not in the idle list) and stops counting it as open. */
  #drop(connection: DaemonConnection): void {
    this.#forget(connection);
    connection.close();
    // After close(), nothing is counted any more.
    if (!this.#closed) this.#open--;
  }

  #forget(connection: DaemonConnection): void {
    clearTimeout(this.#idleTimers.get(connection));
    this.#idleTimers.delete(connection);
    this.#rootedSince.delete(connection);
  }

  #wakeOne(): void {
    this.#waiting.shift()?.();
  }
}
