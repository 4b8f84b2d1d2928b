// The untimed side of the client, on node:http: reading narinfos, and the warm-up, where every
// NAR is decoded, hashed and compared with the NarHash and NarSize its narinfo gives. The timed
// passes use wire.ts, which only counts bytes.

import { createHash } from "node:crypto";
import { Agent, request, type IncomingMessage } from "node:http";
import { createZstdDecompress } from "node:zlib";
import { decodeNixBase32 } from "../src/core/nix/nix-base32.ts";

/** What a narinfo says about the NAR to fetch. */
export interface NarRef {
  readonly hash: string;
  /** Relative to the cache's URL, e.g. `nar/<hash>.nar?hash=...` or `nar/<hash>.nar.zst`. */
  readonly url: string;
  readonly compression: string;
  readonly narHash: string;
  readonly narSize: number;
}

export interface Fetched {
  readonly status: number;
  readonly bytes: number;
  /** The response's Content-Encoding, or "identity". */
  readonly encoding: string;
}

/** A pool of `connections` keep-alive connections to one server. */
export function makeAgent(connections: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
}

function get(
  agent: Agent,
  url: string,
  headers: Readonly<Record<string, string>>,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, resolve);
    req.on("error", reject);
    req.end();
  });
}

export async function fetchText(agent: Agent, url: string): Promise<string> {
  const res = await get(agent, url, {});
  const parts: Buffer[] = [];
  for await (const chunk of res) parts.push(chunk as Buffer);
  if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode ?? 0}`);
  return Buffer.concat(parts).toString("utf8");
}

export function parseNarInfo(hash: string, text: string): NarRef {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(": ");
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 2));
  }
  const url = fields.get("URL");
  const narHash = fields.get("NarHash");
  const narSize = Number(fields.get("NarSize"));
  if (url === undefined || narHash === undefined || !(narSize > 0)) {
    throw new Error(`narinfo of ${hash} lacks URL, NarHash or NarSize:\n${text}`);
  }
  return { hash, url, compression: fields.get("Compression") ?? "bzip2", narHash, narSize };
}

/**
 * Downloads one NAR, decodes it (zstd, in the file or as Content-Encoding) and checks its
 * length and sha256 against the narinfo. Returns the bytes that crossed the wire.
 */
export async function fetchVerified(
  agent: Agent,
  base: string,
  nar: NarRef,
  headers: Readonly<Record<string, string>>,
): Promise<Fetched> {
  const url = `${base}/${nar.url}`;
  const res = await get(agent, url, headers);
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    res.resume();
    throw new Error(`${url}: HTTP ${status}`);
  }
  const encoding = res.headers["content-encoding"] ?? "identity";
  const layers = [nar.compression, encoding].filter((c) => c !== "none" && c !== "identity");
  if (layers.some((c) => c !== "zstd"))
    throw new Error(`${url}: cannot decode ${layers.join("+")}`);
  let wire = 0;
  res.on("data", (chunk: Buffer) => {
    wire += chunk.length;
  });
  let stream: NodeJS.ReadableStream = res;
  for (let i = 0; i < layers.length; i++) stream = stream.pipe(createZstdDecompress());
  const sha = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    sha.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const expected = decodeNixBase32(nar.narHash.slice("sha256:".length), 32);
  if (size !== nar.narSize) throw new Error(`${url}: ${size} bytes, NarSize ${nar.narSize}`);
  if (expected === undefined || !sha.digest().equals(expected)) {
    throw new Error(`${url}: NAR does not match its NarHash`);
  }
  return { status, bytes: wire, encoding };
}

/** Runs `work` for every item, `concurrency` at a time, pulling from one shared queue. */
export async function runQueue<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
