// A client that reads a response at a pace the test sets, like a download over a slow link.

import { createHash } from "node:crypto";
import { request, type IncomingMessage } from "node:http";

export interface SlowDownload {
  /** Resolves once `bytes` bytes of the body have arrived. */
  received(bytes: number): Promise<void>;
  /** Stops reading, as a stalled client does, until `resume`. */
  stall(): void;
  resume(): void;
  /** Resolves when the response ends or is cut. */
  readonly done: Promise<{
    status: number;
    contentLength: number;
    bytes: number;
    /**
     * Whether the whole body arrived: Content-Length bytes then the end, or for a body without
     * a length (compressed as it goes), its last chunk.
     */
    complete: boolean;
    sha256: string;
  }>;
}

/** GETs `url` (with `headers`), reading at most `bytesPerSecond`. */
export function slowDownload(
  url: string,
  bytesPerSecond: number,
  headers: Record<string, string> = {},
): SlowDownload {
  let response: IncomingMessage | undefined;
  let bytes = 0;
  let stalled = false;
  let paced: NodeJS.Timeout | undefined;
  const started = Date.now();
  const hash = createHash("sha256");
  const waiters = new Set<() => void>();

  const done = new Promise<Awaited<SlowDownload["done"]>>((resolve, reject) => {
    const req = request(url, { agent: false, headers }, (res) => {
      response = res;
      const contentLength = Number(res.headers["content-length"]);
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(paced);
        resolve({
          status: res.statusCode ?? 0,
          contentLength,
          bytes,
          complete: res.complete && (Number.isNaN(contentLength) || bytes === contentLength),
          sha256: hash.digest("hex"),
        });
      };
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
        for (const waiter of waiters) waiter();
        // Ahead of the pace: wait until the pace catches up.
        const dueMs = (bytes / bytesPerSecond) * 1000 - (Date.now() - started);
        if (dueMs > 0 && !stalled) {
          res.pause();
          paced = setTimeout(() => {
            if (!stalled) res.resume();
          }, dueMs);
        }
      });
      res.once("end", finish);
      res.once("close", finish);
    });
    req.once("error", reject);
    req.end();
  });

  return {
    received: (wanted) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (bytes < wanted) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
    stall: () => {
      stalled = true;
      response?.pause();
    },
    resume: () => {
      stalled = false;
      response?.resume();
    },
    done,
  };
}
