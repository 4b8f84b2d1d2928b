// Transport compression (Content-Encoding), decided and applied here and nowhere else. The
// narinfo keeps saying `Compression: none`: this is a property of one response, negotiated
// from the request's Accept-Encoding, that the client's HTTP layer undoes.

import type { Config } from "../config/config.ts";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Writable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { constants, createBrotliCompress, createGzip, createZstdCompress } from "node:zlib";
import { compressedStart } from "./compressed-starts.ts";
import { isClientGone } from "./errors.ts";
import { drainedOrClosed } from "./respond.ts";
import { nextChunkTurn } from "./turns.ts";
import { parseAcceptEncoding } from "./accept-encoding.ts";
import { wantsBody } from "./answer.ts";

export type ContentEncoding = "zstd" | "br" | "gzip";

/** Ours, best first: zstd is the fastest to compress and to decode at a good ratio. */
const PREFERENCE: readonly ContentEncoding[] = ["zstd", "br", "gzip"];

/** Below this, compression saves less than its headers and CPU cost. */
const MIN_COMPRESSED_BYTES = 1024;

/** zlib's output chunks: larger than its 16 KiB default, for fewer socket writes. */
const ENCODER_CHUNK_BYTES = 64 * 1024;

/**
 * zstd's window, as a power of two: 512 KiB. Level 3 would take 2 MiB, and an encoder holds
 * about twice its window: with 300 slow readers of zstd NARs that was most of 1.4 GiB. The
 * smaller window costs 1.6 % of ratio (795 MB of /usr/lib and /usr/bin: 34.4 % -> 34.9 %) and
 * bounds what each compressed stream holds (300 slow readers, 32 streams: peak VmRSS 269 ->
 * 201 MiB); a client needs a quarter of the memory to decode it.
 */
const ZSTD_WINDOW_LOG = 19;

/**
 * Brotli's default quality (11) compresses at a few MB/s: far too slow for streaming NARs.
 * 4 is about gzip's speed with a better ratio.
 */
const BROTLI_QUALITY = 4;

/**
 * Brotli's window, as zstd's (2^19 = 512 KiB) and for the same reason: at its default (4 MiB)
 * each stream held ~18 MiB, and 300 slow readers of br NARs (32 streams) took VmRSS to 666 MiB;
 * with 512 KiB, 217 MiB. It costs 1.3 % of ratio (207 MB of /usr/bin and /usr/lib: 27.1 % ->
 * 28.4 %) and compresses a quarter faster.
 */
const BROTLI_WINDOW_LOG = 19;

/** The config keys that govern compression. */
export type CompressionSettings = Pick<Config, "enable_compression" | "zstd">;

/**
 * The encoding to use for a request with this Accept-Encoding, or undefined for identity.
 * Without the header, or when it allows none of ours, the body goes out as it is.
 */
export function negotiateEncoding(header: string | undefined): ContentEncoding | undefined {
  if (header === undefined) return undefined;
  const weights = parseAcceptEncoding(header);
  const any = weights.get("*") ?? 0;
  return PREFERENCE.find((coding) => (weights.get(coding) ?? any) > 0);
}

/**
 * The encoding for this response: none for HEAD (its headers describe the plain body, whose
 * length is known without making it; a compressed one's is not), for bodies known to be tiny, when compression is off, or when the client takes none of ours.
 * Ranged responses never get here: a range is of the plain body.
 */
export function chooseEncoding(
  req: IncomingMessage,
  settings: CompressionSettings,
  size?: number,
): ContentEncoding | undefined {
  if (!settings.enable_compression || !wantsBody(req)) return undefined;
  if (size !== undefined && size < MIN_COMPRESSED_BYTES) return undefined;
  return negotiateEncoding(req.headers["accept-encoding"]);
}

/**
 * Adds `Accept-Encoding` to Vary on a response whose body could be compressed (whether or not
 * this one is): what a cache in front must key it by. Nothing when compression is off.
 */
export function varyOnEncoding(res: ServerResponse, settings: CompressionSettings): void {
  if (!settings.enable_compression) return;
  const vary = res.getHeader("vary");
  if (vary === undefined) res.setHeader("vary", "Accept-Encoding");
  else if (!/accept-encoding/i.test(String(vary))) {
    res.setHeader("vary", `${String(vary)}, Accept-Encoding`);
  }
}

export function createEncoder(encoding: ContentEncoding, settings: CompressionSettings): Transform {
  switch (encoding) {
    case "zstd":
      return createZstdCompress({
        chunkSize: ENCODER_CHUNK_BYTES,
        params: {
          [constants.ZSTD_c_compressionLevel]: settings.zstd.level,
          [constants.ZSTD_c_windowLog]: ZSTD_WINDOW_LOG,
        },
      });
    case "br":
      return createBrotliCompress({
        chunkSize: ENCODER_CHUNK_BYTES,
        params: {
          [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
          [constants.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_LOG,
        },
      });
    case "gzip":
      return createGzip({ chunkSize: ENCODER_CHUNK_BYTES });
    default: {
      const unhandled: never = encoding;
      return unhandled;
    }
  }
}

/** A body: chunks as they are made (a NAR, a tar), or already in memory (`[buffer]`). */
export type BodySource = AsyncIterable<Buffer> | Iterable<Buffer>;

/** What `writeEncoded` may do beside compressing. */
export interface EncodeOptions {
  readonly tee?: Transform | undefined;
  readonly release?: (chunk: Buffer) => void;
}

/**
 * Sends `source` with `encoding` as a 200: the head, then the body as `writeEncoded` writes it.
 * For a large text already in memory (a `.ls` listing): `chooseEncoding(req, config,
 * bytes.length)`, then `sendEncoded(res, [bytes], ...)`.
 */
export async function sendEncoded(
  res: ServerResponse,
  source: BodySource,
  encoding: ContentEncoding,
  settings: CompressionSettings,
  options: EncodeOptions = {},
): Promise<boolean> {
  res.writeHead(200, encodedHeaders(encoding));
  return writeEncoded(res, source, encoding, settings, options);
}

/** The head of a body compressed as it goes out: no Content-Length, so chunked. */
export function encodedHeaders(encoding: ContentEncoding): { "content-encoding": ContentEncoding } {
  return { "content-encoding": encoding };
}

/**
 * Writes `source` compressed with `encoding` after the head (see `encodedHeaders`). A `tee`
 * sees the compressed bytes on their way (the compressed-NAR cache); `release` gets each chunk
 * of `source` back once the encoder is done with it (the NAR chunk pool). Resolves as
 * pipeToResponse does.
 */
export async function writeEncoded(
  res: ServerResponse,
  source: BodySource,
  encoding: ContentEncoding,
  settings: CompressionSettings,
  options: EncodeOptions = {},
): Promise<boolean> {
  const started = await compressedStart();
  try {
    const encoder = createEncoder(encoding, settings);
    const transforms: [Transform, ...Transform[]] =
      options.tee === undefined ? [encoder] : [encoder, options.tee];
    return await pipeThrough(res, source, transforms, options.release, started, (error) =>
      isClientGone(error, res),
    );
  } finally {
    started();
  }
}

/**
 * Compresses `source` with `encoding` for `tee` alone, with no client to send it to: a
 * compressed-NAR cache entry made in the background (compress-later.ts). True when the whole
 * source went through; a failing source or tee rejects.
 */
export function encodeForTee(
  source: BodySource,
  encoding: ContentEncoding,
  settings: CompressionSettings,
  tee: Transform,
  release?: (chunk: Buffer) => void,
): Promise<boolean> {
  const discard = new Writable({
    write: (_chunk, _encoding, callback) => {
      callback();
    },
  });
  return pipeThrough(discard, source, [createEncoder(encoding, settings), tee], release);
}

/**
 * Streams `source` through `transforms` (an encoder, a tee) to `sink` (a response), with
 * backpressure. Resolves true when the body went out whole, false when the client went away
 * (`gone` says which failures mean that; the source is then stopped, so the disk is no longer
 * read, and every transform is destroyed, so that its memory and any file it writes are let
 * go); a failing source rejects.
 *
 * The first transform is fed by hand, so that each chunk goes to `release` once that transform
 * is done with it (its write callback). Fed through Readable.from, a NAR compressed on the fly
 * left every one of its chunks to the garbage collector, which frees such memory only after
 * tens of MiB of it: a zstd pass of the benchmark closure peaked at 155 MiB VmRSS, and 118 MiB
 * stayed.
 */
async function pipeThrough(
  sink: Writable,
  source: BodySource,
  transforms: readonly [Transform, ...Transform[]],
  release: (chunk: Buffer) => void = () => undefined,
  socketFull: () => void = () => undefined,
  gone: (error: unknown) => boolean = () => false,
): Promise<boolean> {
  const [first] = transforms;
  // pipeline() does not destroy its other streams when it cannot start (a response closed
  // already: ERR_STREAM_UNABLE_TO_PIPE), and the loop below would then wait forever for the
  // encoder to drain: whatever way the pipeline fails, every transform goes with it.
  let failure: { readonly error: unknown } | undefined;
  const piped = pipeline([...transforms, sink]).catch((error: unknown) => {
    failure = { error };
    for (const transform of transforms) transform.destroy();
  });
  try {
    // Leaving the loop stops the source with `return()` at once: a generator's `finally` closes
    // its files, and the disk is read no more. Each chunk is read in a turn shared with the
    // other bodies (turns.ts).
    await nextChunkTurn();
    for await (const chunk of source) {
      if (first.destroyed || failure !== undefined) break;
      const flushed = first.write(chunk, (error) => {
        if (error === undefined || error === null) release(chunk);
      });
      if (!flushed) await drainedOrClosed(first);
      if (sink.writableNeedDrain) socketFull();
      await nextChunkTurn();
    }
  } catch (error) {
    // The source failed (the store changed mid-NAR): the response is cut, never completed.
    first.destroy(error instanceof Error ? error : new Error(String(error)));
    await piped;
    throw error;
  }
  if (!first.destroyed) first.end();
  await piped;
  if (failure === undefined) return true;
  if (gone(failure.error)) return false;
  throw failure.error;
}
