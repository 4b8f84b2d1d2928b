// The compressions a NAR can be uploaded with, by the URL's extension and the narinfo's
// `Compression`, and a streaming decoder for each. node:zlib decodes gzip, brotli and zstd;
// unbzip2-stream decodes bzip2; xz is decoded by xz-utils' `xz` (see xz.ts for why).

import type { Duplex } from "node:stream";
import { PassThrough } from "node:stream";
import {
  createBrotliDecompress,
  createGunzip,
  createInflate,
  createZstdDecompress,
} from "node:zlib";
import unbzip2 from "unbzip2-stream";
import { xzDecoder } from "./xz.ts";

export type Compression = "none" | "xz" | "bzip2" | "zstd" | "br" | "gzip";

/** URL extension (after `.nar`) → narinfo `Compression`, as Nix names them. */
const BY_EXTENSION: ReadonlyMap<string, Compression> = new Map([
  ["", "none"],
  [".xz", "xz"],
  [".bz2", "bzip2"],
  [".zst", "zstd"],
  [".br", "br"],
  [".gz", "gzip"],
]);

export function compressionOfExtension(extension: string): Compression | undefined {
  return BY_EXTENSION.get(extension);
}

export function extensionOf(compression: string): string | undefined {
  for (const [extension, name] of BY_EXTENSION) if (name === compression) return extension;
  return undefined;
}

/** A decoder for `compression`; its errors (corrupt input) surface in the pipeline. */
export function decoderFor(compression: Compression): Duplex {
  switch (compression) {
    case "none":
      return new PassThrough();
    case "xz":
      return xzDecoder();
    case "bzip2":
      return unbzip2();
    case "zstd":
      return createZstdDecompress();
    case "br":
      return createBrotliDecompress();
    case "gzip":
      return createGunzip();
    default: {
      const unhandled: never = compression;
      return unhandled;
    }
  }
}

/** A request's `Content-Encoding` → its decoder; undefined for one we cannot decode. */
export function contentDecoder(encoding: string | undefined): Duplex | undefined {
  switch ((encoding ?? "identity").trim().toLowerCase()) {
    case "identity":
    case "":
      return new PassThrough();
    case "gzip":
    case "x-gzip":
      return createGunzip();
    case "deflate":
      return createInflate();
    case "br":
      return createBrotliDecompress();
    case "zstd":
      return createZstdDecompress();
    case "xz":
      return xzDecoder();
    case "bzip2":
      return unbzip2();
    default:
      return undefined;
  }
}
