// HEAD answered once for every route. Routes answer as for a GET and never look at the method:
// they describe the head (status and headers) and hand over the body, and this file writes
// them, the body only when one was asked for. A HEAD thus gets GET's very headers (Content-Length
// where GET has one) and no body; a body made from the store is never made for it, so it reads
// no file past what the head needs, and takes no slot among the streams.

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { StreamSlots } from "./stream-slots.ts";

/** What a response is: its head, and its body, in memory or written once the head is out. */
export interface Answer {
  readonly status: number;
  /** Beside those set on the response already (`setHeader`). */
  readonly headers?: OutgoingHttpHeaders;
  readonly body: string | Buffer | (() => Promise<void>);
}

/** Writes an answer the route has made (see `sendStreamed` for one that reads the store). */
export type Reply = (answer: Answer) => Promise<void>;

/**
 * Whether `req` asks for a body. The one place that tells HEAD from GET; the router sends a
 * HEAD to the GET route, and compression is chosen only for a body (compression.ts).
 */
export function wantsBody(req: IncomingMessage): boolean {
  return req.method !== "HEAD";
}

/**
 * Writes `answer`'s head, then its body unless the request was a HEAD. Not async: a head that
 * cannot be written throws at once, and a body in memory is written before it returns.
 */
export function writeAnswer(res: ServerResponse, answer: Answer): Promise<void> {
  res.writeHead(answer.status, answer.headers);
  const { body } = answer;
  if (!wantsBody(res.req)) res.end();
  else if (typeof body === "function") return body();
  else res.end(body);
  return Promise.resolve();
}

/**
 * Answers with a body that streams from the store (a NAR, a tar, a file, a listing): the bodies
 * whose number `max_streams` caps. `answer` does what the head needs (finds the path, opens the
 * file, renders the listing) and calls `reply`, inside a `try` that closes what it opened; or
 * answers by itself without a body (a 304). A GET runs it in a slot among the streams; a HEAD
 * runs it at once, as it sends no body, and `reply` ends its response after the head.
 */
export async function sendStreamed(
  res: ServerResponse,
  streams: StreamSlots,
  answer: (reply: Reply) => Promise<void>,
): Promise<void> {
  const reply: Reply = (made) => writeAnswer(res, made);
  if (wantsBody(res.req)) await streams.run(res, () => answer(reply));
  else await answer(reply);
}
