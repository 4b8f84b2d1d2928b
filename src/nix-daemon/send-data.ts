// Sending a stream of data (a NAR, a log) to the daemon after a request, in the form the
// negotiated protocol takes: framed from 1.23 on, pulled by STDERR_READ in 1.21 and 1.22. The
// data is read from the source as the socket takes it, never held whole.

import type { Channel } from "./channel.ts";
import { NixDaemonError } from "./errors.ts";
import { protocolMinor } from "./protocol.ts";
import { encodeString, FRAME_END, frames } from "./wire.ts";

/**
 * The data, in chunks. A source may reuse a chunk's memory for the next one (uploads read a
 * staged NAR into one buffer): each chunk is sent, its writes answered by the socket, before the
 * next is asked for.
 */
export type DataSource = AsyncIterable<Uint8Array>;

/** Sends `source` and reads the daemon's log stream up to its answer. */
export async function sendData(channel: Channel, source: DataSource): Promise<void> {
  if (protocolMinor(channel.version) >= 23) await sendFramed(channel, source);
  else await sendOnRequest(channel, source);
}

/**
 * Frames, while the log stream is read alongside: the daemon may log (or fail) while it reads.
 * If the source fails part way, the frames are ended all the same, so that the daemon sees a cut
 * NAR, refuses it, and the connection stays in step; the source's error is then thrown.
 */
async function sendFramed(channel: Channel, source: DataSource): Promise<void> {
  // Set from the promise's callback, read through a function so that each check reads it afresh.
  let answeredYet = false;
  const hasAnswered = (): boolean => answeredYet;
  const answer = channel.processStderr().finally(() => {
    answeredYet = true;
  });
  // Awaited below; until then a refusal must not count as unhandled.
  const answered = answer.then(
    () => undefined,
    () => undefined,
  );

  const iterator = source[Symbol.asyncIterator]();
  let sourceError: Error | undefined;
  let sourceDone = false;
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (error) {
        sourceError = asError(error);
        break;
      }
      if (next.done === true) {
        sourceDone = true;
        break;
      }
      if (hasAnswered()) break;
      // The chunk's frames at once (a socket answers its writes in order: the last one answered
      // means all were); a daemon that answers early stops reading: do not wait for it then.
      const writes = frames(next.value).map((frame) => channel.write(frame));
      for (const write of writes) write.catch(() => undefined);
      await Promise.race([Promise.all(writes), answered]);
      if (hasAnswered()) break;
    }
  } finally {
    if (!sourceDone && sourceError === undefined) await iterator.return?.();
  }

  if (hasAnswered()) {
    // The daemon answered before the data ended, so it stopped reading frames: what we would
    // still send, it would read as requests. Nix's own client has the same rule.
    channel.poison(new NixDaemonError("protocol", "the Nix daemon answered before the data ended"));
    await answer;
    throw new NixDaemonError("protocol", "the Nix daemon answered before the data ended");
  }
  await channel.write(FRAME_END);
  if (sourceError !== undefined) {
    await answer.catch(() => undefined);
    throw sourceError;
  }
  await answer;
}

/** 1.21 and 1.22: the daemon asks for data (STDERR_READ) and we answer with a string. */
async function sendOnRequest(channel: Channel, source: DataSource): Promise<void> {
  const pull = new PullSource(source);
  try {
    await channel.processStderr(async (length) => {
      await channel.write(encodeString(await pull.read(length)));
    });
  } catch (error) {
    if (pull.error === undefined) throw error;
  } finally {
    await pull.close();
  }
  if (pull.error !== undefined) throw pull.error;
}

/**
 * Reads an async iterable by sizes chosen by the reader. A failing source reads as its end (the
 * daemon then refuses the cut data) and keeps its error for the caller.
 */
class PullSource {
  readonly #iterator: AsyncIterator<Uint8Array>;
  #rest: Buffer = Buffer.alloc(0);
  #done = false;
  error: Error | undefined;

  constructor(source: DataSource) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  /** Up to `length` bytes; empty at the end. */
  async read(length: number): Promise<Buffer> {
    while (this.#rest.length === 0 && !this.#done) {
      try {
        const next = await this.#iterator.next();
        if (next.done === true) this.#done = true;
        else this.#rest = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.length);
      } catch (error) {
        this.error = asError(error);
        this.#done = true;
      }
    }
    const bytes = this.#rest.subarray(0, length);
    this.#rest = this.#rest.subarray(bytes.length);
    return bytes;
  }

  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#iterator.return?.();
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(`the data source failed: ${String(error)}`);
}
