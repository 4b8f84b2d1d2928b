// bzip2 decompression as a stream. Node has no bzip2; unbzip2-stream is the streaming decoder
// the npm ecosystem relies on (through `decompress`), pure JavaScript, and small.

import { PassThrough, type Readable } from "node:stream";
import unbzip2Stream from "unbzip2-stream";

/**
 * The decompressed bytes of `compressed`. Backpressure reaches the source: a slow reader pauses
 * the decoder, which pauses `compressed`. Destroying the result destroys the decoder; a corrupt
 * input is an error on the result.
 */
export function bunzip2(compressed: Readable): Readable {
  const decoder = unbzip2Stream();
  // The decoder is an old-style stream (`through`); piping it into a PassThrough gives a modern
  // one with the same backpressure. (Readable.wrap would end it early: `through` closes right
  // after it ends, before the last chunk is read.)
  const output = new PassThrough();
  compressed.on("error", (error) => output.destroy(error));
  decoder.on("error", (error: Error) => output.destroy(error));
  compressed.pipe(decoder).pipe(output);
  output.once("close", () => {
    compressed.destroy();
    decoder.destroy();
  });
  return output;
}
