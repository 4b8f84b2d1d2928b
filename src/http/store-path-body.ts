// What the routes that answer with the whole of one store path in another form (the `.ls`
// listing, the `.tar`) share: the hash in the URL to a valid path on disk, and the headers and
// 304 of a body that never changes for that path.

import type { IncomingMessage, ServerResponse } from "node:http";
import { parseStoreHash } from "../core/nix/store-path.ts";
import { StorefrontError } from "../errors.ts";
import { storeDirsOf, validPathOnDisk, type ValidPathOnDisk } from "../store/nar/valid-path.ts";
import { varyOnEncoding, type CompressionSettings } from "./compression.ts";
import { ifNoneMatchMatches } from "./etag.ts";
import { IMMUTABLE } from "./respond.ts";
import type { Services } from "./services.ts";

/** The valid store path named by `hashText`, its files on disk; else bad_request or not_found. */
export function validPathOfHash(
  hashText: string,
  { config, store }: Pick<Services, "config" | "store">,
): ValidPathOnDisk {
  const hash = parseStoreHash(hashText);
  if (hash === undefined) throw new StorefrontError("bad_request", "malformed store hash");
  return validPathOnDisk(store, storeDirsOf(config), hash);
}

/**
 * Sets what a cache in front needs (Cache-Control, ETag, Vary). A store path never changes;
 * when it is collected, the answer becomes a 404. When the client already holds `etag`
 * (If-None-Match), answers 304 and returns true.
 */
export function answeredNotModified(
  req: IncomingMessage,
  res: ServerResponse,
  settings: CompressionSettings,
  etag: string,
): boolean {
  res.setHeader("cache-control", IMMUTABLE);
  res.setHeader("etag", etag);
  varyOnEncoding(res, settings);
  if (!ifNoneMatchMatches(req.headers["if-none-match"], etag)) return false;
  res.writeHead(304);
  res.end();
  return true;
}
