// A response body from the store. Its chunks may come from the NAR chunk pool (chunks.ts):
// `written` gives each back once the socket no longer needs it, so the pool stays inside the
// store and the HTTP side only sends what it is given.

import { releaseChunk } from "./chunks.ts";

export interface StoreBody {
  /**
   * Made as they are read. Iterate to the end, or stop with `return()`: that closes whatever
   * the body holds open.
   */
  readonly chunks: Iterable<Buffer> | AsyncIterable<Buffer>;
  /** Call with each chunk once nothing will read it again (a socket write's callback). */
  readonly written: (chunk: Buffer) => void;
}

/** A body of chunks from the NAR chunk pool, each returned to it once written. */
export function pooledBody(chunks: Iterable<Buffer>): StoreBody {
  return { chunks, written: releaseChunk };
}
