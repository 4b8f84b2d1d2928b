// Clients that go away at a chosen moment of a request's life, and what a server process holds
// (descriptors, temporary files) to check that it let go of everything once they did.

import { readdirSync } from "node:fs";
import { connect } from "node:net";

/** When the client goes: right after sending the request, after a delay, or mid-body. */
export type HangUpMoment =
  | { readonly kind: "at-once" }
  | { readonly kind: "after"; readonly ms: number }
  | { readonly kind: "mid-body"; readonly bytes: number };

/**
 * Sends `GET path` on a connection of its own and goes away at `moment`, with a reset (RST) or
 * a plain close (FIN) as `reset` says. Resolves once the socket is closed.
 */
export function requestAndHangUp(
  port: number,
  path: string,
  headers: Readonly<Record<string, string>>,
  moment: HangUpMoment,
  reset: boolean,
): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const go = (): void => {
      if (reset) socket.resetAndDestroy();
      else socket.destroy();
    };
    socket.once("close", () => {
      resolve();
    });
    socket.on("error", () => undefined);
    socket.once("connect", () => {
      // One request per connection: the server closes it once the response is whole.
      const lines = [`GET ${path} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close"];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      switch (moment.kind) {
        case "at-once":
          go();
          break;
        case "after":
          setTimeout(go, moment.ms);
          break;
        case "mid-body": {
          let received = 0;
          socket.on("data", (data: Buffer) => {
            received += data.length;
            if (received >= moment.bytes) go();
          });
          // A response shorter than that ends on its own; go anyway.
          socket.once("end", go);
        }
      }
    });
  });
}

/** The descriptors process `pid` has open. */
export function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Temporary files (`.tmp-*`) in the NAR cache directory `dir`. */
export function tempFilesIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => name.startsWith(".tmp-"));
  } catch {
    return [];
  }
}

/** Runs `tasks` with at most `limit` at a time. */
export async function runLimited(
  tasks: readonly (() => Promise<void>)[],
  limit: number,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next];
      next += 1;
      await task?.();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}
