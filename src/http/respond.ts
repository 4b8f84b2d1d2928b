// Writing responses: fixed texts and streams, with Content-Length and Cache-Control always set.

import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Writable } from "node:stream";
import { writeAnswer } from "./answer.ts";
import { nextChunkTurn } from "./turns.ts";

/** For content that never changes: NARs are named by hash. */
export const IMMUTABLE = "public, max-age=31536000, immutable";
/** For answers that may change: a narinfo's signatures, or a path collected by the GC. */
export const SHORT_LIVED = "public, max-age=60";
export const NO_STORE = "no-store";

/** A whole body at once; a Buffer is written as it is, with no text to encode. */
export function sendText(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: OutgoingHttpHeaders & { "content-type": string; "cache-control": string },
): void {
  void writeAnswer(res, {
    status,
    headers: { ...headers, "content-length": Buffer.byteLength(body) },
    body,
  });
}

/**
 * Writes `chunks` to `res` with backpressure. Stops pulling (so the producer stops reading the
 * disk and closes its files) as soon as the client goes away. Errors propagate to the caller.
 * `written` is called with each chunk once the socket no longer needs it (for reuse).
 */
export async function sendChunks(
  res: Writable,
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  written?: (chunk: Buffer) => void,
): Promise<void> {
  // Each chunk is read (and maybe hashed) in a turn shared with the other bodies (turns.ts):
  // the loop's head pulls the next chunk only once the body's turn has come.
  await nextChunkTurn();
  for await (const chunk of chunks) {
    // Leaving the loop ends the producer at once: it closes its file and reads no more.
    if (res.destroyed) return;
    const flushed =
      written === undefined
        ? res.write(chunk)
        : res.write(chunk, (error) => {
            if (error === undefined || error === null) written(chunk);
          });
    if (!flushed) await drainedOrClosed(res);
    await nextChunkTurn();
  }
  if (!res.destroyed) res.end();
}

/**
 * Resolves when `stream` (a response, an encoder) takes writes again, or is gone. A stream that
 * is gone already, or no longer needs a drain, resolves at once: its `close` (or `drain`) may
 * have fired before this was called, and waiting for it again would wait forever, with the
 * caller's files open (a client that hung up while its last write was being queued).
 */
export function drainedOrClosed(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.closed || !stream.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}
