// Opening the listening socket: TCP or a unix socket, plain or TLS, with timeouts that cut off
// clients that stall but never a download that keeps moving.

import { chmodSync, lstatSync, readFileSync, unlinkSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { ConfigError } from "../config-schema.ts";
import type { ListenAddress } from "../core/listen-address.ts";
import { formatListenAddress } from "../core/listen-address.ts";
import type { RequestHandler } from "./handler.ts";

export interface TlsFiles {
  readonly certPath: string;
  readonly keyPath: string;
}

/** Time a client has to send its request headers. */
const HEADERS_TIMEOUT_MS = 30_000;
/** A keep-alive connection with no request in flight is closed after this long. */
const KEEP_ALIVE_TIMEOUT_MS = 60_000;
/** A socket on which nothing at all moves for this long is closed, even mid-response. */
const IDLE_SOCKET_TIMEOUT_MS = 120_000;

function readTlsFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: string }).code ?? "unreadable";
    throw new ConfigError(`${path}: cannot read the TLS ${what} (${code})`);
  }
}

export function createServer(handler: RequestHandler, tls: TlsFiles | undefined): Server {
  const options = {
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: HEADERS_TIMEOUT_MS * 2,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  };
  const server =
    tls === undefined
      ? createHttpServer(options, handler)
      : createHttpsServer(
          {
            ...options,
            cert: readTlsFile(tls.certPath, "certificate"),
            key: readTlsFile(tls.keyPath, "key"),
          },
          handler,
        );
  server.setTimeout(IDLE_SOCKET_TIMEOUT_MS, (socket) => socket.destroy());
  return server;
}

/** A stale socket file from an earlier run would make listen fail with EADDRINUSE. */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Not there: nothing to remove.
  }
}

/** Listens on `address`; resolves with where it listens (with the port chosen for port 0). */
export function listen(server: Server, address: ListenAddress): Promise<ListenAddress> {
  if (address.kind === "unix") removeStaleSocket(address.path);
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const reason =
        error.code === "EADDRINUSE"
          ? "the address is in use (is another server running?)"
          : error.code === "EACCES"
            ? "permission denied"
            : (error.code ?? error.message);
      reject(new ConfigError(`cannot listen on ${formatListenAddress(address)}: ${reason}`));
    };
    server.once("error", onError);
    const onListening = (): void => {
      server.off("error", onError);
      if (address.kind === "unix") {
        // Like harmonia: whoever can reach the socket's directory may connect.
        chmodSync(address.path, 0o777);
        resolve(address);
        return;
      }
      const bound = server.address() as AddressInfo;
      resolve({ kind: "tcp", host: address.host, port: bound.port });
    };
    if (address.kind === "unix") server.listen(address.path, onListening);
    else server.listen(address.port, address.host, onListening);
  });
}
