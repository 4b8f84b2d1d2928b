// Small upload bodies (narinfos, realisations, logs up to a limit), decoded from their
// `Content-Encoding` (newer Nix compresses narinfos, listings and logs), with a hard limit on
// the decoded size.

import type { IncomingMessage } from "node:http";
import { Transform, type Duplex, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { StorefrontError } from "../errors.ts";
import { contentDecoder } from "./compression.ts";

/** The decoded body, whole; refused when over `limit` bytes or not decodable. */
export async function readUploadBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) throw new StorefrontError("payload_too_large", `body of ${declared} bytes`);
  const decoder = contentDecoder(req.headers["content-encoding"]);
  if (decoder === undefined) throw new StorefrontError("bad_request", "unknown Content-Encoding");
  const chunks: Buffer[] = [];
  let length = 0;
  const collect = new Transform({
    transform(chunk: Buffer, _encoding: string, done: TransformCallback): void {
      length += chunk.length;
      if (length > limit) {
        done(new StorefrontError("payload_too_large", "body over the limit"));
        return;
      }
      chunks.push(chunk);
      done();
    },
  });
  try {
    await pipeline(req, decoder, collect);
  } catch (error) {
    if (error instanceof StorefrontError) throw error;
    throw new StorefrontError("bad_request", "body cut off or not decodable", { cause: error });
  }
  return Buffer.concat(chunks);
}

/**
 * The request's body through `decoder`. `pipe` passes on no errors: a client that goes away
 * half way would leave the decoder waiting forever (and its staged file behind), so the
 * decoder fails when the request closes incomplete.
 */
export function decodedBody(req: IncomingMessage, decoder: Duplex): Duplex {
  const cutOff = (): void => {
    if (!req.complete) decoder.destroy(new Error("request body cut off"));
  };
  req.once("error", (error) => decoder.destroy(error));
  req.once("close", cutOff);
  return req.pipe(decoder);
}
