// One connection to the daemon over its unix socket: the handshake, then operations one after
// another (the protocol is a conversation; the daemon forks a process for each connection and
// serves it in order). A connection that fails in a way that leaves the conversation out of
// step (closed, timed out, unreadable bytes) is broken for good; a daemon refusing an operation
// is not such a failure.

import { createConnection, type Socket } from "node:net";
import { debuglog } from "node:util";
import type { Channel } from "./channel.ts";
import { NixDaemonError } from "./errors.ts";
import { handshake, type HandshakeResult } from "./handshake.ts";
import { setOptions, type ClientSettings } from "./operations/options.ts";
import { versionText } from "./protocol.ts";
import { processStderr, type LogMessage, type StderrHandlers } from "./stderr.ts";
import { WireReader } from "./wire-reader.ts";

export interface ConnectionOptions {
  /** The daemon's socket, e.g. /nix/var/nix/daemon-socket/socket. */
  readonly socketPath: string;
  /**
   * How long the daemon may go without sending or taking a byte while an operation (or the
   * handshake) is under way, in milliseconds. Default 300000 (5 minutes): long enough for the
   * daemon to register a large path or collect garbage quietly, short enough to notice a hang.
   */
  readonly timeoutMs?: number;
  readonly settings?: ClientSettings;
  /**
   * Log lines and activities the daemon sends. Default: to the debug log, shown with
   * NODE_DEBUG=storefront-daemon.
   */
  readonly onLog?: (message: LogMessage) => void;
}

export const DEFAULT_TIMEOUT_MS = 300_000;

export class DaemonConnection {
  readonly #socket: Socket;
  readonly #reader = new WireReader();
  readonly #timeoutMs: number;
  readonly #onLog: (message: LogMessage) => void;
  #info: HandshakeResult | undefined;
  /** Why this connection can no longer be used; set once. */
  #broken: NixDaemonError | undefined;
  /** The operation in progress, or the last one: the next waits for it. */
  #queue: Promise<unknown> = Promise.resolve();
  #busy = 0;
  /** Bytes sent by the operation under way: one that fails before sending any left no trace. */
  #sent = 0;
  /** Set by an operation that knows the daemon will read what follows out of step. */
  #poisoned: Error | undefined;

  private constructor(socket: Socket, options: ConnectionOptions) {
    this.#socket = socket;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#onLog = options.onLog ?? debugLog;
    socket.on("data", (chunk: Buffer) => {
      this.#reader.push(chunk);
    });
    socket.on("timeout", () => {
      this.#break(
        new NixDaemonError(
          "timeout",
          `the Nix daemon sent and took nothing for ${this.#timeoutMs / 1000} s`,
        ),
      );
    });
    socket.on("error", (error) => {
      this.#break(
        new NixDaemonError("closed", `the connection to the Nix daemon failed: ${error.message}`, {
          cause: error,
        }),
      );
    });
    socket.on("close", () => {
      this.#break(new NixDaemonError("closed", "the Nix daemon closed the connection"));
    });
  }

  /** Connects, shakes hands and sends the settings. */
  static async open(options: ConnectionOptions): Promise<DaemonConnection> {
    const socket = await connect(options.socketPath);
    const connection = new DaemonConnection(socket, options);
    try {
      await connection.#run(async () => {
        const onLog = connection.#onLog;
        connection.#info = await handshake(
          connection.#reader,
          (bytes) => connection.#write(bytes),
          onLog,
        );
        await setOptions(connection.#channel(), options.settings);
      });
    } catch (error) {
      connection.close();
      throw error;
    }
    return connection;
  }

  get info(): HandshakeResult {
    if (this.#info === undefined) throw new Error("DaemonConnection: used before its handshake");
    return this.#info;
  }

  /** `1.34` and so on. */
  get protocolVersion(): string {
    return versionText(this.info.version);
  }

  /** Why the connection can no longer be used, or undefined while it can. */
  get broken(): NixDaemonError | undefined {
    return this.#broken;
  }

  /** Runs `operation` once those before it are done; fails at once on a broken connection. */
  run<T>(operation: (channel: Channel) => Promise<T>): Promise<T> {
    return this.#run(() => operation(this.#channel()));
  }

  close(): void {
    this.#break(new NixDaemonError("closed", "the connection to the Nix daemon was closed"));
  }

  #run<T>(operation: () => Promise<T>): Promise<T> {
    this.#busy++;
    const result = this.#queue.then(async () => {
      if (this.#broken !== undefined) throw this.#broken;
      // An idle connection does not keep the process alive; one at work does.
      this.#socket.ref();
      this.#socket.setTimeout(this.#timeoutMs);
      this.#sent = 0;
      try {
        return await operation();
      } catch (error) {
        // A refusal by the daemon, or a request refused before a byte of it was sent, leaves
        // the conversation in step, unless bytes follow the refusal: a daemon that refuses
        // before it starts work sends its error twice and hangs up. Anything else may leave it
        // out of step (a data source failing part way is answered in step, but closing is the
        // safe side): the connection is closed and the next operation gets a new one.
        const refused =
          error instanceof NixDaemonError && error.kind === "daemon" && this.#reader.buffered === 0;
        if (!refused && this.#sent > 0) {
          this.#break(
            error instanceof NixDaemonError
              ? error
              : new NixDaemonError("closed", "an operation failed part way", { cause: error }),
          );
        }
        throw error;
      } finally {
        if (this.#poisoned !== undefined) {
          this.#break(
            new NixDaemonError("protocol", "the conversation with the Nix daemon is out of step", {
              cause: this.#poisoned,
            }),
          );
        }
        if (!this.#isBroken()) this.#socket.setTimeout(0);
        this.#busy--;
        if (this.#busy === 0) this.#socket.unref();
      }
    });
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #channel(): Channel {
    const info = this.info;
    const handlers: StderrHandlers = { onLog: this.#onLog };
    return {
      version: info.version,
      features: info.features,
      daemonTrustsUs: info.daemonTrustsUs,
      reader: this.#reader,
      write: (bytes) => this.#write(bytes),
      processStderr: (onRead) =>
        processStderr(
          this.#reader,
          info.version,
          onRead === undefined ? handlers : { ...handlers, onRead },
        ),
      poison: (reason) => {
        this.#poisoned ??= reason;
      },
    };
  }

  /**
   * Resolves once the socket has handed `bytes` to the system (the write's callback), not when
   * they are merely queued: the caller may then reuse the buffer (sendData reads a NAR's next
   * chunk into the same one), so a connection holds one chunk, whatever the NAR's size.
   */
  #write(bytes: Buffer): Promise<void> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    this.#sent += bytes.length;
    return new Promise((resolve, reject) => {
      const closed = (): void => {
        reject(
          this.#broken ?? new NixDaemonError("closed", "the Nix daemon closed the connection"),
        );
      };
      this.#socket.once("close", closed);
      this.#socket.write(bytes, (error) => {
        this.#socket.off("close", closed);
        if (error === null || error === undefined) resolve();
        else closed();
      });
    });
  }

  #isBroken(): boolean {
    return this.#broken !== undefined;
  }

  #break(error: NixDaemonError): void {
    if (this.#broken !== undefined) return;
    this.#broken = error;
    this.#reader.fail(error);
    this.#socket.destroy();
  }
}

const debug = debuglog("storefront-daemon");

function debugLog(message: LogMessage): void {
  if (!debug.enabled) return;
  if (message.type === "next") debug("nix-daemon: %s", message.text);
  else if (message.type === "start-activity" && message.text !== "") {
    debug("nix-daemon: %s", message.text);
  }
}

function connect(socketPath: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const fail = (error: NodeJS.ErrnoException): void => {
      socket.destroy();
      reject(
        new NixDaemonError(
          "connect",
          `cannot connect to the Nix daemon at ${socketPath}: ${connectReason(error)}`,
          { cause: error },
        ),
      );
    };
    socket.once("error", fail);
    socket.once("connect", () => {
      socket.off("error", fail);
      resolve(socket);
    });
  });
}

function connectReason(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "ENOENT":
      return "no such socket (is nix-daemon running? is daemon_socket right?)";
    case "ECONNREFUSED":
      return "connection refused (is nix-daemon running?)";
    case "EACCES":
      return "permission denied (may this user use the daemon? see allowed-users)";
    default:
      return error.message;
  }
}
