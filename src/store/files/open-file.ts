// A file of the store opened for a response body (a /serve file, a build log): its size known
// up front, its bytes read in chunks of the NAR chunk size, and one `close` whether or not the
// body was read (a HEAD, a client gone).

import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import { NAR_CHUNK_BYTES } from "../nar/chunks.ts";

export interface OpenFile {
  /** Bytes on disk when opened. */
  readonly size: number;
  /** The file's bytes, from its start: read them once at most. */
  readonly chunks: () => Readable;
  readonly close: () => Promise<void>;
}

/** Opens `path` for reading; the caller closes it. */
export async function openFile(path: Buffer): Promise<OpenFile> {
  const handle = await open(path, "r");
  try {
    return openedFile(handle, (await handle.stat()).size);
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** An open file as a body; `size` from its fstat. */
export function openedFile(handle: FileHandle, size: number): OpenFile {
  return {
    size,
    chunks: () => handle.createReadStream({ autoClose: false, highWaterMark: NAR_CHUNK_BYTES }),
    close: () => handle.close(),
  };
}
