// Reading a small request body (the admin API's JSON), with a hard limit: a body larger than
// the limit is refused as soon as it is known to be, without reading the rest.

import type { IncomingMessage } from "node:http";
import { StorefrontError } from "../errors.ts";

export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) throw new StorefrontError("payload_too_large", `body of ${declared} bytes`);
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) throw new StorefrontError("payload_too_large", "body over the limit");
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new StorefrontError("bad_request", "body is not JSON");
  }
}
