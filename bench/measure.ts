// One timed pass of each metric against one server. A target is a base URL, the NARs its
// narinfos name, and the headers to send; the same code measures storefront and nginx.

import { performance } from "node:perf_hooks";
import { fetchText, fetchVerified, makeAgent, parseNarInfo, runQueue } from "./client.ts";
import type { NarRef } from "./client.ts";
import { WireConnection, type WireResponse } from "./wire.ts";

export interface Target {
  readonly name: string;
  readonly base: string;
  readonly nars: readonly NarRef[];
  readonly headers: Readonly<Record<string, string>>;
}

export interface Pass {
  readonly seconds: number;
  readonly bytes: number;
  /** Content-Encodings seen, with how many responses had each. */
  readonly encodings: Readonly<Record<string, number>>;
}

/** Reads every narinfo (once, untimed) to learn the NAR URLs and their sizes and hashes. */
export async function loadNarRefs(base: string, hashes: readonly string[]): Promise<NarRef[]> {
  const agent = makeAgent(4);
  try {
    return await runQueue(hashes, 4, async (hash) =>
      parseNarInfo(hash, await fetchText(agent, `${base}/${hash}.narinfo`)),
    );
  } finally {
    agent.destroy();
  }
}

/** Fails on anything but a 200: a benchmark of error pages measures nothing. */
function ok(response: WireResponse, what: string): WireResponse {
  if (response.status !== 200) throw new Error(`${what}: HTTP ${response.status}`);
  return response;
}

/** narinfo-all: every narinfo in sequence over one keep-alive connection. */
export async function narInfoAll(base: string, hashes: readonly string[]): Promise<Pass> {
  const connection = new WireConnection(base);
  try {
    const start = performance.now();
    let bytes = 0;
    for (const hash of hashes) {
      const path = `/${hash}.narinfo`;
      bytes += ok(await connection.get(path), `${base}${path}`).bytes;
    }
    return { seconds: (performance.now() - start) / 1000, bytes, encodings: {} };
  } finally {
    connection.close();
  }
}

function countEncodings(encodings: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const encoding of encodings) counts[encoding] = (counts[encoding] ?? 0) + 1;
  return counts;
}

/** Every NAR once, `connections` connections pulling from one queue; bodies counted. */
export async function narPass(target: Target, connections: number): Promise<Pass> {
  const pool = Array.from({ length: connections }, () => new WireConnection(target.base));
  const idle = [...pool];
  try {
    const start = performance.now();
    const fetched = await runQueue(target.nars, connections, async (nar) => {
      const connection = idle.pop();
      if (connection === undefined) throw new Error("more workers than connections");
      try {
        return ok(await connection.get(`/${nar.url}`, target.headers), `${target.base}/${nar.url}`);
      } finally {
        idle.push(connection);
      }
    });
    const seconds = (performance.now() - start) / 1000;
    const bytes = fetched.reduce((sum, f) => sum + f.bytes, 0);
    return { seconds, bytes, encodings: countEncodings(fetched.map((f) => f.encoding)) };
  } finally {
    for (const connection of pool) connection.close();
  }
}

/** The warm-up: every NAR once, decoded and checked against its NarHash and NarSize. */
export async function verifiedPass(target: Target, connections: number): Promise<Pass> {
  const agent = makeAgent(connections);
  try {
    const start = performance.now();
    const fetched = await runQueue(target.nars, connections, (nar) =>
      fetchVerified(agent, target.base, nar, target.headers),
    );
    const seconds = (performance.now() - start) / 1000;
    const bytes = fetched.reduce((sum, f) => sum + f.bytes, 0);
    return { seconds, bytes, encodings: countEncodings(fetched.map((f) => f.encoding)) };
  } finally {
    agent.destroy();
  }
}
