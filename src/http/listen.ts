// Opening the listening socket: TCP, a unix socket or a descriptor systemd passed, plain or TLS,
// with timeouts that cut off clients that stall but never a download that keeps moving.

import { X509Certificate, createPrivateKey } from "node:crypto";
import { chmodSync, lstatSync, statSync, unlinkSync } from "node:fs";
import type { Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Server as NetServer } from "node:net";
import { dirname } from "node:path";
import { createSecureContext } from "node:tls";
import { readConfiguredFile } from "../config/config-files.ts";
import { ConfigError, StartupError } from "../errors.ts";
import type { Config } from "../config/config.ts";
import type { ListenTarget } from "../config/listen-address.ts";
import { formatListenAddress } from "../config/listen-address.ts";
import { limitConnections, type ConnectionLimit } from "./connection-limit.ts";
import type { RequestHandler } from "./handler.ts";

/**
 * node:http as CommonJS has it. Imported as an ES module, Node builds its namespace by reading
 * every export, and the lazy ones (WebSocket, MessageEvent) load undici, which a server never
 * uses: ~110 ms of every start and ~16 MiB of RSS for the life of the process (Node 24).
 */
const { createServer: createHttpServer } = process.getBuiltinModule("node:http");

/** Where to listen: an address from `bind`, or a socket systemd passed (socket activation). */

export interface TlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface ServerTimeouts {
  /** Time a client has to send a request's headers. */
  readonly requestHeaderMs: number;
  /** A connection on which nothing moves for this long is closed, keep-alive or mid-response. */
  readonly idleMs: number;
}

/** The first line of an OpenSSL error, without the `error:0480006C:PEM routines::` prefix. */
function opensslReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split("\n")[0] ?? "").replace(/^error:[0-9A-F]+:[^:]*::?/, "");
}

/**
 * Reads and checks the certificate and key of `tls_cert_path` and `tls_key_path`, if set, so
 * that a bad file fails at start (and in `--check-config`), named with its key.
 */
export function loadTlsCredentials(
  config: Pick<Config, "tls_cert_path" | "tls_key_path">,
): TlsCredentials | undefined {
  const certPath = config.tls_cert_path;
  const keyPath = config.tls_key_path;
  if (certPath === undefined || keyPath === undefined) return undefined;
  const cert = readConfiguredFile(certPath, "TLS certificate");
  const key = readConfiguredFile(keyPath, "TLS key");
  try {
    new X509Certificate(cert);
  } catch (error) {
    throw new ConfigError(
      `"tls_cert_path" ${certPath}: not a PEM certificate (${opensslReason(error)})`,
    );
  }
  try {
    createPrivateKey(key);
  } catch (error) {
    throw new ConfigError(
      `"tls_key_path" ${keyPath}: not a PEM private key (${opensslReason(error)})`,
    );
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new ConfigError(
      `"tls_key_path" ${keyPath}: the key does not fit the certificate ${certPath} (${opensslReason(error)})`,
    );
  }
  return { cert, key };
}

export function createServer(
  handler: RequestHandler,
  tls: TlsCredentials | undefined,
  timeouts: ServerTimeouts,
  limit?: ConnectionLimit,
): Server {
  const options = {
    headersTimeout: timeouts.requestHeaderMs,
    // Requests carry no body worth waiting for: the whole request is due with its headers.
    requestTimeout: timeouts.requestHeaderMs,
    keepAliveTimeout: timeouts.idleMs,
    // How often Node checks the two timeouts above; its default (30 s) would let a stalled
    // client stay up to that much longer than configured.
    connectionsCheckingInterval: Math.min(1_000, timeouts.requestHeaderMs),
  };
  const server =
    tls === undefined
      ? createHttpServer(options)
      : createHttpsServer({ ...options, cert: tls.cert, key: tls.key });
  const event = tls === undefined ? "connection" : "secureConnection";
  server.on(
    "request",
    limit === undefined ? handler : limitConnections(server, event, handler, limit),
  );
  // An inactivity timeout, not a deadline: every chunk a slow client reads restarts it, so a slow
  // but moving download goes on, while a client that stopped reading is dropped.
  server.setTimeout(timeouts.idleMs, (socket) => socket.destroy());
  return server;
}

/** A stale socket file from an earlier run would make listen fail with EADDRINUSE. */
export function removeStaleSocket(target: ListenTarget): void {
  if (target.kind !== "unix") return;
  try {
    if (lstatSync(target.path).isSocket()) unlinkSync(target.path);
  } catch {
    // Not there: nothing to remove.
  }
}

function formatListenTarget(target: ListenTarget): string {
  return target.kind === "fd" ? `fd:${target.fd}` : formatListenAddress(target);
}

/** Whether the directory that a unix socket goes in exists. */
function socketDirectoryExists(path: string): boolean {
  try {
    return statSync(dirname(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * One line saying why storefront cannot listen on `target` (the value of the config key
 * `key`, "bind" or "metrics.bind"), from the errno `code` that listening (or, in
 * `--check-config`, a look-up) gave, and what to do about it.
 */
export function listenErrorMessage(target: ListenTarget, key: string, code: string): string {
  const address = formatListenTarget(target);
  const where = `cannot listen on ${address}`;
  if (target.kind === "fd") return `${where} (a socket from systemd): ${code}`;
  const choose = key === "bind" ? `--bind or "bind" in the config` : `"${key}" in the config`;
  if (target.kind === "unix") {
    const directory = dirname(target.path);
    if (!socketDirectoryExists(target.path)) {
      // Node reports a missing directory as EACCES ("permission denied"), even to root.
      return `${where} ("${key}"): the directory ${directory} does not exist; create it (mkdir -p ${directory}) or choose another path with ${choose}`;
    }
    if (code === "EACCES" || code === "EPERM") {
      return `${where} ("${key}"): permission denied in ${directory}; run as a user who may create files there, or choose another path with ${choose}`;
    }
  }
  switch (code) {
    case "EADDRINUSE":
      return `${where} ("${key}"): the address is in use (is another server, harmonia or nix-serve, running?); stop it, or choose another address with ${choose}`;
    case "EADDRNOTAVAIL":
      return `${where} ("${key}"): that address is not one of this machine's; use one of its addresses (ip address), or [::] for all of them, with ${choose}`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return `${where} ("${key}"): the host is neither an IP address nor a name that resolves; use an IP address such as [::]:5000 or 127.0.0.1:5000 with ${choose}`;
    case "EACCES":
      return `${where} ("${key}"): permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE); use a port of 1024 or more with ${choose}`;
    default:
      return `${where} ("${key}"): ${code}`;
  }
}

/**
 * Listens on `target`, the value of the config key `key`; resolves with where it listens, for
 * people to read: the port chosen for port 0, the real address of an inherited TCP socket. In
 * a cluster worker the primary opens the socket (node:cluster), and this resolves once the
 * worker shares it. With `reusePort` a TCP target is bound with SO_REUSEPORT, so that each of
 * a process's serving threads has a socket of its own on the same address, and the kernel
 * spreads the connections over them.
 */
export function listen(
  server: NetServer,
  target: ListenTarget,
  key = "bind",
  reusePort = false,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(new StartupError(listenErrorMessage(target, key, error.code ?? error.message)));
    };
    server.once("error", onError);
    const onListening = (): void => {
      server.off("error", onError);
      resolve(describeBound(server, target));
    };
    switch (target.kind) {
      case "unix":
        // Like harmonia: whoever can reach the socket's directory may connect.
        server.listen({ path: target.path }, () => {
          chmodSync(target.path, 0o777);
          onListening();
        });
        break;
      case "fd":
        server.listen({ fd: target.fd }, onListening);
        break;
      case "tcp":
        server.listen({ port: target.port, host: target.host, reusePort }, onListening);
    }
  });
}

function describeBound(server: NetServer, target: ListenTarget): string {
  const bound = server.address();
  if (bound === null || typeof bound === "string") {
    return target.kind === "fd" ? `fd:${target.fd} (unix socket)` : formatListenTarget(target);
  }
  const { address, port } = bound satisfies AddressInfo;
  const host = target.kind === "tcp" ? target.host : address;
  return formatListenAddress({ kind: "tcp", host, port });
}
