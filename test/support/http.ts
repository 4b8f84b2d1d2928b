// Raw HTTP requests for tests: the body exactly as sent (no decompression), with its headers.

import { request } from "node:http";

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export function httpRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers ?? {} });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** The NAR URL a narinfo names, made absolute. */
export async function narUrl(base: string, hash: string): Promise<string> {
  const narinfo = (await httpRequest(`${base}/${hash}.narinfo`)).body.toString();
  const match = /^URL: (.*)$/m.exec(narinfo);
  if (match === null) throw new Error(`no URL in narinfo of ${hash}: ${narinfo}`);
  return `${base}/${match[1] ?? ""}`;
}
