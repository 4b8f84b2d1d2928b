// Stopping without cutting downloads: stop accepting, close idle keep-alive connections at once,
// let responses in flight finish for a while, then cut what remains.

import type { Server } from "node:http";

/** How often connections that became idle after their last response are closed. */
const IDLE_SWEEP_MS = 100;

/** Resolves when every connection of `server` is closed, at the latest about `graceMs` from now. */
export function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    // A keep-alive connection whose response ends after close() would otherwise wait for its
    // next request or for the idle timeout: sweep those up as they become idle.
    const sweep = setInterval(() => {
      server.closeIdleConnections();
    }, IDLE_SWEEP_MS);
    const deadline = setTimeout(() => {
      server.closeAllConnections();
    }, graceMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Calls `stop` once, on the first SIGTERM or SIGINT. Later signals are ignored rather than
 * killing the process with downloads still running (systemd and a terminal's Ctrl-C may each
 * send one).
 */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => void): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    stop(signal);
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}
